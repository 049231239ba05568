"""ssh targets and the hosts.toml roster: parsing, refusals with file and line, careful edits."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from coven.client.errors import HostsFileInvalid, InvalidHostTarget, RemoteHostError, SshFailed
from coven.client.hosts import (
    HostEntry,
    HostsRoster,
    SshTarget,
    edited_text,
    parse_hosts,
    parse_target,
    read_hosts,
    render_hosts,
    write_hosts,
)
from coven.client.ssh import SshLink, _classify, ssh_command_from

# ------------------------------------------------------------------ targets


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("ssh://box", SshTarget("box")),
        ("ssh://me@box.example", SshTarget("box.example", "me")),
        ("ssh://me@box.example:2222", SshTarget("box.example", "me", 2222)),
        ("ssh://me@box.example:2222/", SshTarget("box.example", "me", 2222)),
        ("ssh://[::1]:22", SshTarget("[::1]", None, 22)),
        ("ssh://deploy_user@10.0.0.7", SshTarget("10.0.0.7", "deploy_user")),
    ],
)
def test_ssh_urls_parse_to_targets(text: str, target: SshTarget) -> None:
    assert parse_target(text) == target
    assert parse_target(target.url) == target


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("box", "expected ssh://[user@]host[:port]"),
        ("me@box", "write it as ssh://me@box"),
        ("http://box", "expected ssh://"),
        ("ssh://", "expected ssh://"),
        ("ssh://-oProxyCommand=touch%20x", "expected ssh://"),
        ("ssh://-l@box", "expected ssh://"),
        ("ssh://me@-box", "expected ssh://"),
        ("ssh://me:secret@box", "carries no password"),
        ("ssh://box:0", "port 0 is not between 1 and 65535"),
        ("ssh://box:70000", "port 70000"),
        ("ssh://box/path", "expected ssh://"),
        ("ssh://box?x=1", "expected ssh://"),
        ("ssh://bo x", "expected ssh://"),
    ],
)
def test_anything_else_is_refused_and_never_reaches_ssh_as_an_option(text: str, words: str) -> None:
    with pytest.raises(InvalidHostTarget, match=None) as caught:
        parse_target(text)
    assert words in str(caught.value)
    assert caught.value.code == "invalid_host"


def test_ssh_arguments_end_the_options_before_the_host() -> None:
    assert SshTarget("box", "me", 2222).ssh_args() == ["-l", "me", "-p", "2222", "--", "box"]
    assert SshTarget("[::1]").ssh_args() == ["--", "::1"]


# ------------------------------------------------------------------ roster

GOOD = """\
# my machines
[hosts.box]
target = "ssh://me@box.example:2222"   # the big one

[hosts.gpu-2]
target = "ssh://gpu"
command = "~/.local/bin/coven"
"""


def test_a_roster_parses_in_file_order() -> None:
    roster = parse_hosts(GOOD, "hosts.toml")
    assert [h.name for h in roster.hosts] == ["box", "gpu-2"]
    assert roster.get("box") == HostEntry("box", SshTarget("box.example", "me", 2222))
    gpu = roster.get("gpu-2")
    assert gpu is not None and gpu.remote_command == "~/.local/bin/coven"
    assert roster.get("box") is not None and roster.hosts[0].remote_command == "coven"
    assert parse_hosts("", "hosts.toml") == HostsRoster()


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('[hosts.box]\ntarget = "ssh://box\n', 2, "not valid TOML"),
        ('[hosts.box]\ntarget = "ssh://box"\ntarget = "ssh://b"\n', 3, "not valid TOML"),
        ('owner = "me"\n', 1, "unknown key `owner`"),
        ('hosts = "box"\n', 1, "`hosts` must be a table"),
        ('[hosts]\nbox = "ssh://box"\n', 2, "host `box` must be a table"),
        ("[hosts.box]\n\ntarget = 5\n", 3, "needs target ="),
        ("[hosts.box]\ncommand = 'coven'\n", 1, "needs target ="),
        ('[hosts.box]\ntarget = "box"\n', 2, "is not a host target"),
        (
            '[hosts.a]\ntarget = "ssh://a"\n[hosts.box]\ntarget = "ssh://b"\nport = 22\n',
            5,
            "unknown key `port`",
        ),
        ('[hosts.box]\ntarget = "ssh://b"\ncommand = ""\n', 3, "command must be a non-empty"),
        ('[hosts."b.x"]\ntarget = "ssh://b"\n', 1, "host name `b.x` must be"),
    ],
)
def test_a_bad_roster_names_the_file_and_line(text: str, line: int, words: str) -> None:
    with pytest.raises(HostsFileInvalid) as caught:
        parse_hosts(text, "/h/hosts.toml")
    assert caught.value.line == line, caught.value
    assert str(caught.value).startswith(f"/h/hosts.toml line {line}: ")
    assert words in str(caught.value)


def test_adding_keeps_the_users_comments_and_removing_cuts_only_that_table() -> None:
    roster = parse_hosts(GOOD, "h")
    added = roster.plus(HostEntry("lab", SshTarget("lab.local")))
    text = edited_text(GOOD, roster, added, "h")
    assert text.startswith(GOOD.rstrip("\n"))  # nothing the user wrote is lost
    assert parse_hosts(text, "h") == added

    removed = added.without("box")
    text2 = edited_text(text, added, removed, "h")
    assert "# my machines" in text2 and "box.example" not in text2
    assert parse_hosts(text2, "h") == removed


def test_an_inline_table_is_rewritten_when_it_cannot_be_cut_out() -> None:
    text = '[hosts]\nbox = { target = "ssh://box" }\nlab = { target = "ssh://lab" }\n'
    roster = parse_hosts(text, "h")
    new = roster.without("box")
    edited = edited_text(text, roster, new, "h")
    assert parse_hosts(edited, "h") == new
    assert parse_hosts(render_hosts(roster), "h") == roster


def test_the_file_is_written_private_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "home" / "hosts.toml"
    assert read_hosts(path) == (HostsRoster(), "")
    write_hosts(path, GOOD)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert os.stat(path.parent).st_mode & 0o777 == 0o700
    assert read_hosts(path) == (parse_hosts(GOOD, str(path)), GOOD)
    path.write_bytes(b'[hosts.box]\ntarget = "\xff"\n')
    with pytest.raises(HostsFileInvalid, match=r"line 2: not UTF-8"):
        read_hosts(path)


# ------------------------------------------------------------------ ssh link (no ssh run)


@pytest.mark.parametrize(
    ("stderr", "kind"),
    [
        ("me@box: Permission denied (publickey).\n", "auth"),
        ("Host key verification failed.\n", "host_key"),
        ("ssh: Could not resolve hostname box: Name or service not known\n", "unreachable"),
        ("ssh: connect to host box port 22: Connection refused\n", "unreachable"),
        ("ssh: connect to host box port 22: Connection timed out\n", "unreachable"),
        ("something else\n", "other"),
    ],
)
def test_ssh_failures_are_classified_from_what_ssh_said(stderr: str, kind: str) -> None:
    found, said = _classify(stderr)
    assert found == kind
    assert said == stderr.strip()
    assert SshFailed("x", kind).code == ("ssh_failed" if kind == "other" else f"ssh_{kind}")


def test_the_ssh_command_comes_from_the_environment() -> None:
    assert ssh_command_from({}) == ["ssh"]
    assert ssh_command_from({"COVEN_SSH_COMMAND": "ssh -F '/a b/config'"}) == [
        "ssh",
        "-F",
        "/a b/config",
    ]


def test_a_link_quotes_every_argument_for_the_remote_shell(tmp_path: Path) -> None:
    link = SshLink(SshTarget("box"), label="box", remote_command="~/bin/coven", runtime=tmp_path)
    assert link.remote_argv(["run", "codex", "--", "a b; rm -rf ~"]) == (
        "~/bin/coven run codex -- 'a b; rm -rf ~'"
    )


def test_a_runtime_dir_too_deep_for_socket_paths_is_refused(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 100)
    with pytest.raises(RemoteHostError, match="too deep for Unix socket paths"):
        SshLink(SshTarget("box"), label="box", runtime=deep)


# ------------------------------------------------------------------ the CLI's guard


def test_a_command_reaching_for_this_machines_home_is_refused_under_a_host() -> None:
    import click
    from click.testing import CliRunner

    from coven.cli.context import home

    @click.group()
    @click.option("--host")
    def root(host: str | None) -> None:
        pass

    @root.command("peek")
    def peek() -> None:
        click.echo(str(home()))

    runner = CliRunner()
    refused = runner.invoke(root, ["--host", "ssh://box", "peek"])
    assert refused.exit_code == 1
    assert (
        "`root peek` works on this machine's Coven home and cannot run with --host ssh://box"
        in (refused.output)
    )
    allowed = runner.invoke(root, ["peek"], env={"COVEN_HOME": "/somewhere"})
    assert allowed.exit_code == 0 and allowed.output.strip() == "/somewhere"


@pytest.mark.parametrize("name", ["a b", "50%", "a:b", 'q"'])
def test_a_runtime_dir_ssh_cannot_be_given_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(RemoteHostError, match="ssh cannot take in ControlPath"):
        SshLink(SshTarget("box"), label="box", runtime=tmp_path / name)
