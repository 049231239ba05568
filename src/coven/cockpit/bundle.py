"""The prebuilt browser app in ``static/`` and the stamp that ties it to its sources.

``cockpit-ui/build.sh`` builds the app from the npm sources (pinned by
``package-lock.json``) into ``static/`` and then runs ``python -m
coven.cockpit.bundle stamp``, which writes ``static/manifest.json``: a digest
of every source file (``source_digest``) and the sha256 of every built file.
A test recomputes both; when a source changed and the bundle was not rebuilt,
or a built file was edited by hand, it fails. Neither needs npm.

Only the files named in the manifest are served, so nothing else that ends up
in ``static/`` is reachable.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
MANIFEST = "manifest.json"
# Directories under cockpit-ui that are not sources: installed packages.
_NOT_SOURCES = frozenset({"node_modules"})
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


def source_files(ui_root: Path) -> list[Path]:
    """Every file of the app's sources, sorted by relative path (``node_modules`` excluded)."""
    found = []
    for path in ui_root.rglob("*"):
        rel = path.relative_to(ui_root)
        if rel.parts[0] in _NOT_SOURCES or not path.is_file():
            continue
        found.append(path)
    return sorted(found, key=lambda p: p.relative_to(ui_root).as_posix())


def source_digest(ui_root: Path) -> str:
    """sha256 over each source file's relative path and bytes, in path order."""
    digest = hashlib.sha256()
    for path in source_files(ui_root):
        data = path.read_bytes()
        digest.update(path.relative_to(ui_root).as_posix().encode() + b"\0")
        digest.update(str(len(data)).encode() + b"\0" + data)
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Manifest:
    source_digest: str
    files: dict[str, str]  # built file name -> sha256


def load_manifest(static: Path = STATIC) -> Manifest:
    doc = json.loads((static / MANIFEST).read_text())
    return Manifest(doc["sourceDigest"], dict(doc["files"]))


def stamp(ui_root: Path, static: Path = STATIC) -> Manifest:
    """Write ``manifest.json`` for what is in ``static/`` now, built from ``ui_root``."""
    files = {
        path.name: file_digest(path)
        for path in sorted(static.iterdir())
        if path.is_file() and path.name != MANIFEST and path.suffix in CONTENT_TYPES
    }
    manifest = Manifest(source_digest(ui_root), files)
    doc = {"sourceDigest": manifest.source_digest, "files": manifest.files}
    (static / MANIFEST).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return manifest


def main(argv: list[str]) -> int:
    if argv[:1] != ["stamp"] or len(argv) > 2:
        print("usage: python -m coven.cockpit.bundle stamp [COCKPIT_UI_DIR]", file=sys.stderr)
        return 2
    ui_root = Path(argv[1]) if len(argv) == 2 else Path.cwd()
    manifest = stamp(ui_root.resolve())
    print(f"stamped {len(manifest.files)} files, sources {manifest.source_digest[:16]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
