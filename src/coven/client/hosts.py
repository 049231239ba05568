"""Names for other machines: ``ssh://`` targets and the ``COVEN_HOME/hosts.toml`` roster.

A *target* says how OpenSSH reaches a machine: ``ssh://[user@]host[:port]``
(``host`` may be an alias from the user's ssh_config). The roster gives
targets short names for ``coven --host NAME``; one table per host::

    [hosts.box]
    target = "ssh://me@box.example:2222"
    command = "/home/me/.local/bin/coven"   # optional: coven's path on that machine

Nothing here starts a process; ``coven.client.ssh`` does the connecting. Every
refusal of the file is a ``HostsFileInvalid`` naming the file and, whenever it
can be found, the line: tomllib's own position for syntax errors, and for the
rules checked here the line of the offending key or of its table header.
Editing keeps the user's text: ``add`` appends a table, ``remove`` cuts one out,
and either falls back to rewriting the whole file only when the result would
not parse back to exactly the intended roster.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from coven.client.errors import HostsFileInvalid, InvalidHostTarget

HOSTS_FILE = "hosts.toml"
MAX_HOSTS_BYTES = 256 * 1024
DEFAULT_REMOTE_COMMAND = "coven"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
# A user and a host that can never be read as an ssh option (no leading "-"), and a
# bracketed IPv6 literal; anything fancier belongs in the user's ssh_config as an alias.
_TARGET = re.compile(
    r"ssh://(?:(?P<user>[A-Za-z0-9_][A-Za-z0-9._-]{0,63})@)?"
    r"(?P<host>[A-Za-z0-9_][A-Za-z0-9._-]{0,252}|\[[0-9A-Fa-f:.]{2,45}\])"
    r"(?::(?P<port>[0-9]{1,5}))?/?"
)
_KEYS = ("target", "command")
_HEADER = re.compile(r"^\s*\[")
_TOML_POSITION = re.compile(r"\(at line (\d+), column \d+\)")


@dataclass(frozen=True, slots=True)
class SshTarget:
    """Where OpenSSH connects: ``host`` (a name, address or ssh_config alias), ``user``, ``port``."""

    host: str
    user: str | None = None
    port: int | None = None

    @property
    def url(self) -> str:
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port is not None else ""
        return f"ssh://{user}{self.host}{port}"

    def ssh_args(self) -> list[str]:
        """The destination as ssh arguments, ending the options first (``--``)."""
        args: list[str] = []
        if self.user:
            args += ["-l", self.user]
        if self.port is not None:
            args += ["-p", str(self.port)]
        return [*args, "--", self.host.strip("[]")]


def is_host_name(text: str) -> bool:
    """1-64 of ``A-Z a-z 0-9 _ -``, starting with a letter or digit."""
    return _NAME.fullmatch(text) is not None


def parse_target(text: str) -> SshTarget:
    """``ssh://[user@]host[:port]`` as an ``SshTarget``; anything else is ``InvalidHostTarget``."""
    if "://" not in text and "@" in text:
        raise InvalidHostTarget(f"`{text}` is not a host target; write it as ssh://{text}")
    if text.startswith("ssh://") and "@" in text and ":" in text.split("@", 1)[0][6:]:
        raise InvalidHostTarget(
            "a host target carries no password; SSH does the authentication (keys, agent)"
        )
    found = _TARGET.fullmatch(text)
    if found is None:
        raise InvalidHostTarget(
            f"`{text}` is not a host target; expected ssh://[user@]host[:port], "
            "e.g. ssh://me@box.example:2222"
        )
    port = None
    if found["port"] is not None:
        port = int(found["port"])
        if not 1 <= port <= 65535:
            raise InvalidHostTarget(f"`{text}`: port {port} is not between 1 and 65535")
    return SshTarget(found["host"], found["user"], port)


@dataclass(frozen=True, slots=True)
class HostEntry:
    """One named machine. ``command`` is how to run coven there (default: ``coven``)."""

    name: str
    target: SshTarget
    command: str | None = None

    @property
    def remote_command(self) -> str:
        return self.command or DEFAULT_REMOTE_COMMAND


@dataclass(frozen=True, slots=True)
class HostsRoster:
    """The parsed roster, in file order."""

    hosts: tuple[HostEntry, ...] = ()

    def get(self, name: str) -> HostEntry | None:
        return next((h for h in self.hosts if h.name == name), None)

    def without(self, name: str) -> HostsRoster:
        return HostsRoster(tuple(h for h in self.hosts if h.name != name))

    def plus(self, entry: HostEntry) -> HostsRoster:
        return HostsRoster((*self.without(entry.name).hosts, entry))


def hosts_path(home: Path) -> Path:
    return home / HOSTS_FILE


def parse_hosts(text: str, path: str) -> HostsRoster:
    """The roster in ``text`` (the contents of ``path``), or ``HostsFileInvalid``."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        position = _TOML_POSITION.search(str(exc))
        line = int(position.group(1)) if position else None
        reason = _TOML_POSITION.sub("", str(exc)).strip()
        raise HostsFileInvalid(path, line, f"not valid TOML: {reason}") from exc
    lines = text.splitlines()
    for key in doc:
        if key != "hosts":
            raise HostsFileInvalid(
                path,
                _key_line(lines, key),
                f"unknown key `{key}`; only [hosts.NAME] tables belong here",
            )
    table = doc.get("hosts", {})
    if not isinstance(table, dict):
        raise HostsFileInvalid(path, _key_line(lines, "hosts"), "`hosts` must be a table")
    entries = []
    for name, body in table.items():
        line = _table_line(lines, name)
        if not is_host_name(name):
            raise HostsFileInvalid(
                path, line, f"host name `{name}` must be 1-64 of A-Z a-z 0-9 _ -"
            )
        if not isinstance(body, dict):
            raise HostsFileInvalid(
                path, line, f'host `{name}` must be a table, e.g. [hosts.{name}] target = "ssh://…"'
            )
        entries.append(_entry(name, body, lines, line, path))
    return HostsRoster(tuple(entries))


def _entry(
    name: str, body: dict[str, object], lines: list[str], line: int | None, path: str
) -> HostEntry:
    for key in body:
        if key not in _KEYS:
            raise HostsFileInvalid(
                path,
                _key_line(lines, key, line),
                f"host `{name}` has unknown key `{key}` (known: {', '.join(_KEYS)})",
            )
    target = body.get("target")
    if not isinstance(target, str):
        raise HostsFileInvalid(
            path,
            _key_line(lines, "target", line),
            f'host `{name}` needs target = "ssh://[user@]host[:port]"',
        )
    try:
        parsed = parse_target(target)
    except InvalidHostTarget as exc:
        raise HostsFileInvalid(
            path, _key_line(lines, "target", line), f"host `{name}`: {exc}"
        ) from exc
    command = body.get("command")
    if command is not None and not _is_command(command):
        raise HostsFileInvalid(
            path,
            _key_line(lines, "command", line),
            f"host `{name}`: command must be a non-empty one-line string (coven's path there)",
        )
    return HostEntry(name, parsed, command if isinstance(command, str) else None)


def _is_command(value: object) -> bool:
    return isinstance(value, str) and value.strip() != "" and not any(c in value for c in "\n\r\0")


def _table_line(lines: list[str], name: str) -> int | None:
    """The line of ``[hosts.NAME]`` (or of ``NAME = {…}`` under ``[hosts]``), 1-based."""
    header = re.compile(rf"^\s*\[\s*hosts\s*\.\s*(\"?){re.escape(name)}\1\s*\]")
    inline = re.compile(rf"^\s*(\"?){re.escape(name)}\1\s*=")
    for number, text in enumerate(lines, 1):
        if header.match(text) or inline.match(text):
            return number
    return None


def _key_line(lines: list[str], key: str, start: int | None = None) -> int | None:
    """The first ``KEY =`` line from ``start`` up to the next table header (or ``start``)."""
    pattern = re.compile(rf"^\s*(\"?){re.escape(key)}\1\s*=")
    first = start or 1
    for number in range(first, len(lines) + 1):
        text = lines[number - 1]
        if number > first and start is not None and _HEADER.match(text):
            break
        if pattern.match(text):
            return number
    return start


def render_entry(entry: HostEntry) -> str:
    # JSON string syntax is valid TOML basic-string syntax for everything json.dumps emits.
    text = f"[hosts.{entry.name}]\ntarget = {json.dumps(entry.target.url)}\n"
    if entry.command is not None:
        text += f"command = {json.dumps(entry.command)}\n"
    return text


_PREAMBLE = (
    "# Other machines for `coven --host NAME`: a name, an ssh target, and optionally\n"
    "# coven's path there. Managed by `coven hosts add/remove`; editing by hand is fine.\n"
)


def render_hosts(roster: HostsRoster) -> str:
    return _PREAMBLE + "".join("\n" + render_entry(h) for h in roster.hosts)


def read_hosts(path: Path) -> tuple[HostsRoster, str]:
    """The roster at ``path`` and its text; a missing file is an empty roster."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_HOSTS_BYTES + 1)
    except FileNotFoundError:
        return HostsRoster(), ""
    except OSError as exc:
        raise HostsFileInvalid(str(path), None, f"cannot read it: {exc.strerror or exc}") from exc
    if len(raw) > MAX_HOSTS_BYTES:
        raise HostsFileInvalid(str(path), None, f"larger than {MAX_HOSTS_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise HostsFileInvalid(str(path), line, "not UTF-8 text") from exc
    return parse_hosts(text, str(path)), text


def edited_text(text: str, old: HostsRoster, new: HostsRoster, path: str) -> str:
    """``text`` changed from ``old`` to ``new``, keeping the user's comments and layout.

    One added host is appended as a table and one removed ``[hosts.NAME]`` table is
    cut out; when the result would not parse back to exactly ``new``, the whole
    file is rendered afresh instead.
    """
    added = [h for h in new.hosts if old.get(h.name) != h]
    removed = [h for h in old.hosts if new.get(h.name) is None]
    candidate: str | None = None
    if len(added) == 1 and not removed and old.get(added[0].name) is None:
        base = text if text.strip() else _PREAMBLE
        candidate = base.rstrip("\n") + "\n\n" + render_entry(added[0])
    elif len(removed) == 1 and not added:
        candidate = _cut_table(text, removed[0].name)
    if candidate is not None:
        try:
            if parse_hosts(candidate, path) == new:
                return candidate
        except HostsFileInvalid:
            pass
    return render_hosts(new)


def _cut_table(text: str, name: str) -> str | None:
    lines = text.splitlines(keepends=True)
    start = _table_line([line.rstrip("\r\n") for line in lines], name)
    if start is None or not lines[start - 1].lstrip().startswith("["):
        return None
    end = start
    while end < len(lines) and not _HEADER.match(lines[end]):
        end += 1
    kept = lines[: start - 1] + lines[end:]
    return re.sub(r"\n{3,}", "\n\n", "".join(kept))


def write_hosts(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text`` (0600; the home is made 0700 if missing)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
