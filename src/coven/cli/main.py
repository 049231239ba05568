"""The ``coven`` command: a client of the daemon, never a second authority.

Exit statuses: 0 ok, 1 runtime error (``Error: <sentence>`` on stderr), 2 usage
error, and under ``coven run`` the harness's own code. Data goes to stdout,
hints to stderr.
"""

from __future__ import annotations

import click

from coven import __version__
from coven.cli.adapter_cmd import adapter_group
from coven.cli.attention_cmd import send_cmd, wait_cmd, watch_cmd
from coven.cli.cast_cmd import cast_cmd
from coven.cli.cockpit_cmd import cockpit_cmd
from coven.cli.completion import SHELLS, completion_script
from coven.cli.daemon_cmd import daemon_group
from coven.cli.export_cmd import export_cmd
from coven.cli.failures import CliError, translated
from coven.cli.familiars_cmd import familiars_group
from coven.cli.hook_cmd import hook_cmd
from coven.cli.hosts_cmd import hosts_group
from coven.cli.remote import HOST_ENV, route
from coven.cli.rituals_cmd import archive_cmd, kill_cmd, sacrifice_cmd
from coven.cli.run_cmd import attach_cmd, run_cmd, summon_cmd
from coven.cli.sessions_cmd import ls_cmd, ps_cmd, screen_cmd, sessions_group
from coven.cli.status_cmd import status_cmd
from coven.cli.work_cmd import changes_cmd, diff_cmd, discard_cmd, merge_cmd


class CovenGroup(click.Group):
    """A group whose commands fail with a sentence, never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        with translated():
            return super().invoke(ctx)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        return route(ctx, *super().resolve_command(ctx, args))


@click.group(cls=CovenGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    __version__, "--version", "-V", prog_name="coven", message="%(prog)s v%(version)s"
)
@click.option(
    "--host",
    envvar=HOST_ENV,
    metavar="HOST",
    help="Work with the daemon on another machine over your own ssh: "
    "ssh://user@box[:port] or a name from coven hosts. Also read from $COVEN_HOST.",
)
def cli(host: str | None) -> None:
    """Coven: run coding-agent CLIs as supervised, recorded sessions."""


@cli.command("version")
def version_cmd() -> None:
    """Print the version of this coven command."""
    click.echo(f"coven v{__version__}")


@cli.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
def doctor_cmd(ctx: click.Context, as_json: bool) -> None:
    """Check harnesses, the daemon and the home."""
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
    click.echo(completion_script(cli, shell))


@cli.command("completions", hidden=True)
@click.argument("shell", type=click.Choice(SHELLS))
def completions_cmd(shell: str) -> None:
    """The former name of the completion command."""
    click.echo(completion_script(cli, shell))


for command in (
    daemon_group,
    run_cmd,
    attach_cmd,
    screen_cmd,
    summon_cmd,
    sessions_group,
    ls_cmd,
    ps_cmd,
    archive_cmd,
    sacrifice_cmd,
    kill_cmd,
    changes_cmd,
    diff_cmd,
    merge_cmd,
    discard_cmd,
    adapter_group,
    hosts_group,
    familiars_group,
    cast_cmd,
    status_cmd,
    export_cmd,
    cockpit_cmd,
    wait_cmd,
    send_cmd,
    watch_cmd,
    hook_cmd,
):
    cli.add_command(command)


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="coven")


if __name__ == "__main__":
    main()
