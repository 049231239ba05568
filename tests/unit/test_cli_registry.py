"""The lazy command table of ``coven.cli.main``: each row is true to the command it names.

``coven --help`` and top-level completion read the table instead of importing
every command; these tests hold the table to what the commands themselves say,
so the listing is the same as if every command had been loaded.
"""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from coven.cli.main import COMMANDS, CovenGroup, cli, load


def _loaded(name: str) -> click.Command:
    return load(COMMANDS[name].target)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_row_names_its_command_with_its_own_help(name: str) -> None:
    command = _loaded(name)
    entry = COMMANDS[name]
    assert command.name == name
    assert command.hidden == entry.hidden
    assert bool(command.short_help) == entry.short
    assert command.get_short_help_str(10**6) == entry.help


def test_the_table_and_the_eager_commands_do_not_overlap() -> None:
    assert set(COMMANDS) & set(cli.commands) == set()
    assert set(cli.commands) == {"version", "doctor", "completion", "completions"}


def test_the_fast_helps_copies_of_the_eager_commands_help_agree() -> None:
    from coven.cli.commands import INLINE_HELP

    visible = {name: c for name, c in cli.commands.items() if not c.hidden}
    assert {name: c.get_short_help_str(10**6) for name, c in visible.items()} == INLINE_HELP


def _fresh_help(columns: int) -> str:
    """``coven --help`` in a new interpreter, where no command module is loaded yet."""
    code = (
        "from click.testing import CliRunner; from coven.cli.main import cli; "
        f"print(CliRunner().invoke(cli, ['--help'], prog_name='coven', terminal_width={columns}).output, end='')"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    ).stdout


@pytest.mark.parametrize("columns", [40, 80, 200])
def test_the_listing_is_what_the_loaded_commands_would_show(columns: int) -> None:
    lazy = _fresh_help(columns)
    eager = click.Group("coven", commands=[*cli.commands.values()])
    eager.params = cli.params
    eager.help = cli.help
    eager.context_settings = cli.context_settings
    for name in COMMANDS:
        eager.add_command(_loaded(name))
    expected = (
        CliRunner().invoke(eager, ["--help"], prog_name="coven", terminal_width=columns).output
    )
    assert "Commands:" in lazy
    assert lazy == expected


def test_top_level_completion_matches_the_loaded_commands() -> None:
    ctx = click.Context(cli, resilient_parsing=True)
    lazy = [(i.value, i.help) for i in CovenGroup.shell_complete(cli, ctx, "s")]
    loaded = [
        (name, _loaded(name).get_short_help_str())
        for name in sorted(COMMANDS)
        if name.startswith("s") and not COMMANDS[name].hidden
    ]
    assert lazy == loaded
    assert [i.value for i in CovenGroup.shell_complete(cli, ctx, "comp")] == ["completion"]


def test_an_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["nosuch"])
    assert result.exit_code == 2
    assert "No such command 'nosuch'" in result.output
