"""The committed browser app matches its sources (no npm needed to check).

When this fails after editing ``cockpit-ui/``, rebuild: ``cockpit-ui/build.sh``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from coven.cockpit.bundle import STATIC, file_digest, load_manifest, source_digest, source_files

REPO = Path(__file__).resolve().parents[2]
UI = REPO / "cockpit-ui"


def test_the_committed_bundle_was_built_from_the_current_sources() -> None:
    manifest = load_manifest()
    assert manifest.source_digest == source_digest(UI), (
        "cockpit-ui/ changed since the bundle in src/coven/cockpit/static was built; "
        "run cockpit-ui/build.sh and commit the result"
    )


def test_the_built_files_are_the_ones_the_manifest_names_unedited() -> None:
    manifest = load_manifest()
    assert {"index.html", "app.js", "app.css"} <= set(manifest.files)
    chunks = set(manifest.files) - {"index.html", "app.js", "app.css"}
    assert all(re.fullmatch(r"chunk-[A-Z0-9]+\.js", name) for name in chunks), chunks
    built = {p.name for p in STATIC.iterdir() if p.name != "manifest.json"}
    assert built == set(manifest.files), "static/ holds files the build did not make"
    for name, digest in manifest.files.items():
        assert file_digest(STATIC / name) == digest, f"static/{name} was changed after the build"


def test_a_change_to_any_source_or_the_lockfile_changes_the_digest(tmp_path: Path) -> None:
    copy = tmp_path / "ui"
    shutil.copytree(UI, copy, ignore=shutil.ignore_patterns("node_modules"))
    before = source_digest(copy)
    for name in ("src/main.ts", "package-lock.json", "build.mjs", "index.html"):
        path = copy / name
        original = path.read_bytes()
        path.write_bytes(original + b" ")
        assert source_digest(copy) != before, name
        path.write_bytes(original)
    assert source_digest(copy) == before
    (copy / "src" / "new.ts").write_text("export {};\n")
    assert source_digest(copy) != before


def test_installed_packages_are_not_sources(tmp_path: Path) -> None:
    copy = tmp_path / "ui"
    shutil.copytree(UI, copy, ignore=shutil.ignore_patterns("node_modules"))
    before = source_digest(copy)
    (copy / "node_modules" / "x").mkdir(parents=True)
    (copy / "node_modules" / "x" / "index.js").write_text("1")
    assert source_digest(copy) == before
    assert all("node_modules" not in p.parts for p in source_files(copy))


def test_dependencies_are_pinned_exactly_and_locked() -> None:
    package = (UI / "package.json").read_text()
    versions = re.findall(r'"(@?[\w/.-]+)":\s*"([^"]+)"', package.split('"devDependencies"')[1])
    assert {name for name, _ in versions} >= {"@xterm/xterm", "@xterm/addon-fit", "esbuild"}
    for name, version in versions:
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} is not pinned: {version}"
    assert (UI / "package-lock.json").is_file()


def test_the_page_loads_only_the_bundle_and_nothing_inline() -> None:
    html = (STATIC / "index.html").read_text()
    assert re.findall(r'<script[^>]*src="([^"]+)"', html) == ["/static/app.js"]
    assert "<script>" not in html and "onclick=" not in html
    assert '<link rel="stylesheet" href="/static/app.css">' in html


def test_installed_packages_and_built_output_are_kept_out_of_git() -> None:
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "cockpit-ui/node_modules/x.js"], cwd=REPO, check=False
    )
    assert ignored.returncode == 0
    for name in ("app.js", "app.css", "index.html", "manifest.json"):
        kept = subprocess.run(
            ["git", "check-ignore", "-q", f"src/coven/cockpit/static/{name}"],
            cwd=REPO,
            check=False,
        )
        assert kept.returncode == 1, f"static/{name} must be committed (it ships in the wheel)"
