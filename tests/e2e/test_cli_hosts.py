"""`coven hosts`: the roster of other machines in COVEN_HOME/hosts.toml (no ssh needed)."""

from __future__ import annotations

import json

from tests.support.cli import Cli, cli

__all__ = ["cli"]


def test_add_list_remove_round_trip_in_text_and_json(cli: Cli) -> None:
    proc = cli.run("hosts", ok=True)
    assert proc.stdout.strip() == "No hosts yet."
    assert "coven hosts add" in proc.stderr

    proc = cli.run("hosts", "add", "box", "ssh://me@box.example:2222", ok=True)
    assert "added host `box` → ssh://me@box.example:2222" in proc.stdout
    cli.run("hosts", "add", "gpu", "ssh://gpu", "--command", "~/.local/bin/coven", ok=True)
    proc = cli.run("hosts", "list", ok=True)
    assert proc.stdout.splitlines() == [
        "NAME  TARGET",
        "box   ssh://me@box.example:2222",
        "gpu   ssh://gpu  (coven: ~/.local/bin/coven)",
    ]
    doc = json.loads(cli.run("hosts", "--json", ok=True).stdout)
    assert doc == {
        "file": str(cli.home / "hosts.toml"),
        "hosts": [
            {"name": "box", "target": "ssh://me@box.example:2222", "command": "coven"},
            {"name": "gpu", "target": "ssh://gpu", "command": "~/.local/bin/coven"},
        ],
    }
    assert (cli.home / "hosts.toml").stat().st_mode & 0o777 == 0o600

    # Adding the same again is a no-op; a different target under the same name is refused.
    assert "already" in cli.run("hosts", "add", "box", "ssh://me@box.example:2222", ok=True).stdout
    proc = cli.run("hosts", "add", "box", "ssh://other")
    assert proc.returncode == 1
    assert "host `box` already names ssh://me@box.example:2222" in proc.stderr

    proc = cli.run("hosts", "remove", "box", ok=True)
    assert "removed host `box`" in proc.stdout
    assert json.loads(cli.run("hosts", "list", "--json", ok=True).stdout)["hosts"] == [
        {"name": "gpu", "target": "ssh://gpu", "command": "~/.local/bin/coven"}
    ]
    proc = cli.run("hosts", "remove", "box")
    assert proc.returncode == 1
    assert "no host named `box`" in proc.stderr


def test_bad_names_and_targets_are_usage_errors(cli: Cli) -> None:
    proc = cli.run("hosts", "add", "my.box", "ssh://box")
    assert proc.returncode == 2
    assert "NAME" in proc.stderr and "A-Z a-z 0-9 _ -" in proc.stderr
    proc = cli.run("hosts", "add", "box", "me@box")
    assert proc.returncode == 2
    assert "write it as ssh://me@box" in proc.stderr
    proc = cli.run("hosts", "add", "box", "ssh://-oProxyCommand=x")
    assert proc.returncode == 2
    assert not (cli.home / "hosts.toml").exists()


def test_a_broken_hosts_file_is_named_with_its_line_and_left_alone(cli: Cli) -> None:
    cli.home.mkdir(mode=0o700)
    path = cli.home / "hosts.toml"
    text = '# mine\n[hosts.box]\ntarget = "ssh://box"\n\n[hosts.lab]\ntarget = "lab"\n'
    path.write_text(text)
    for args in (("hosts",), ("hosts", "add", "x", "ssh://x"), ("--host", "box", "sessions")):
        proc = cli.run(*args)
        assert proc.returncode == 1, args
        assert proc.stderr.strip() == (
            f"Error: {path} line 6: host `lab`: `lab` is not a host target; "
            "expected ssh://[user@]host[:port], e.g. ssh://me@box.example:2222"
        )
    assert path.read_text() == text
    path.write_text("[hosts.box\n")
    proc = cli.run("hosts")
    assert proc.returncode == 1
    assert f"{path} line 1: not valid TOML" in proc.stderr


def test_commands_about_this_machine_ignore_the_host(cli: Cli) -> None:
    """COVEN_HOST set for a shell must not break the roster or the completion script."""
    env = {"COVEN_HOST": "ssh://nowhere.invalid"}
    assert cli.run("hosts", env=env, ok=True).stdout.strip() == "No hosts yet."
    assert "complete" in cli.run("completions", "bash", env=env, ok=True).stdout.lower()
