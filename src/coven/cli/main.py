"""The ``coven`` command: a client of the daemon, never a second authority.

Exit statuses: 0 ok, 1 runtime error (``Error: <sentence>`` on stderr), 2 usage
error, and under ``coven run`` the harness's own code. Data goes to stdout,
hints to stderr.

Commands are registered lazily: ``COMMANDS`` (``coven.cli.commands``) names each
one's module and the one-line help shown in ``coven --help``, and a command's module
is imported only when that command runs (or its own help is asked for), so ``coven
sessions`` never pays for ``run``'s imports. To add a command, add one row to
``COMMANDS`` (``tests/unit/test_cli_registry.py`` checks the row against the command
itself).
"""

from __future__ import annotations

import importlib

import click
from click.shell_completion import CompletionItem

from coven import __version__
from coven.cli.commands import COMMANDS, HOST_HELP, ROOT_HELP

HOST_ENV = "COVEN_HOST"
SHELLS = ("bash", "zsh", "fish")


def load(target: str) -> click.Command:
    """Import ``"module:attribute"`` and answer the command it names."""
    module_name, _, attribute = target.partition(":")
    command = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(command, click.Command):
        raise TypeError(f"{target} is not a click command")
    return command


class CovenGroup(click.Group):
    """The root group: lazily loaded commands that fail with a sentence, never a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        if command is None and cmd_name in COMMANDS:
            command = self.commands[cmd_name] = load(COMMANDS[cmd_name].target)
        return command

    def _described(self, ctx: click.Context, incomplete: str = "") -> list[click.Command]:
        """Every visible command starting with ``incomplete``; one not loaded yet is stood
        in for by a bare command carrying its name and help, so listing imports nothing."""
        described: list[click.Command] = []
        for name in self.list_commands(ctx):
            if not name.startswith(incomplete):
                continue
            command = self.commands.get(name)
            if command is None:
                entry = COMMANDS[name]
                command = click.Command(
                    name,
                    help=None if entry.short else entry.help,
                    short_help=entry.help if entry.short else None,
                    hidden=entry.hidden,
                )
            if not command.hidden:
                described.append(command)
        return described

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        commands = self._described(ctx)
        if not commands:
            return
        # The same layout as click's own listing: room for three times the default spacing.
        limit = formatter.width - 6 - max(len(c.name or "") for c in commands)
        with formatter.section("Commands"):
            formatter.write_dl([(c.name or "", c.get_short_help_str(limit)) for c in commands])

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        items = [
            CompletionItem(c.name, help=c.get_short_help_str())
            for c in self._described(ctx, incomplete)
        ]
        items.extend(click.Command.shell_complete(self, ctx, incomplete))
        return items

    def invoke(self, ctx: click.Context) -> object:
        from coven.cli.failures import translated

        with translated():
            return super().invoke(ctx)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        resolved = super().resolve_command(ctx, args)
        if not ctx.find_root().params.get("host"):
            return resolved  # this machine: nothing to route (and no ssh machinery to load)
        from coven.cli.remote import route

        return route(ctx, *resolved)


@click.group(cls=CovenGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    __version__, "--version", "-V", prog_name="coven", message="%(prog)s v%(version)s"
)
@click.option(
    "--host",
    envvar=HOST_ENV,
    metavar="HOST",
    help=HOST_HELP,
)
def cli(host: str | None) -> None:
    # The help text is ROOT_HELP (set below): the fast ``--help`` prints it without click.
    del host


cli.help = ROOT_HELP


@cli.command("version")
def version_cmd() -> None:
    """Print the version of this coven command."""
    click.echo(f"coven v{__version__}")


@cli.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
def doctor_cmd(ctx: click.Context, as_json: bool) -> None:
    """Check harnesses, the daemon and the home."""
    from coven.cli.failures import CliError

    try:
        from coven.cli import doctor  # type: ignore[attr-defined,unused-ignore]
    except ModuleNotFoundError as exc:
        if exc.name == "coven.cli.doctor":
            raise CliError("`coven doctor` is not available in this build") from exc
        raise
    code: int = doctor.run_doctor(as_json)
    ctx.exit(code)


@cli.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
def completion_cmd(shell: str) -> None:
    """Print the shell completion script for bash, zsh or fish.

    Completes commands, options, session ids and harness ids. Turn it on with,
    for bash: eval "$(coven completion bash)"; zsh: eval "$(coven completion zsh)";
    fish: coven completion fish | source.
    """
    from coven.cli.completion import completion_script

    click.echo(completion_script(cli, shell))


@cli.command("completions", hidden=True)
@click.argument("shell", type=click.Choice(SHELLS))
def completions_cmd(shell: str) -> None:
    """The former name of the completion command."""
    from coven.cli.completion import completion_script

    click.echo(completion_script(cli, shell))


def main() -> None:
    """Entry point of the full CLI (``coven.cli.entry`` answers a few commands before it)."""
    cli.main(prog_name="coven")


if __name__ == "__main__":
    main()
