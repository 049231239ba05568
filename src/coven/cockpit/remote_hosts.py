"""The machines named in ``hosts.toml``, reached the way ``coven --host NAME`` reaches them.

``RemoteHosts`` reads the roster (``client.hosts``, re-read when the file
changes) and keeps one ``RemoteHost`` per name. A host is connected lazily, the
first time the UI lists it or a request names it: ``client.ssh.SshLink.open``
(the user's own OpenSSH, a control master and a Unix-socket forward to that
machine's ``coven.sock``) runs on a worker thread, and from then on the host has
its own ``CastAgent`` on a ``DaemonLink`` to the forwarded socket, sharing this
cockpit's activity log. Authentication is entirely SSH's: ssh runs in batch
mode (nothing can prompt in a server), so keys, an agent or a ssh_config entry
must already log in.

States, as the UI shows them: ``connecting`` (the first attempt is under way),
``reachable``, ``unreachable`` (with ssh's or the remote coven's sentence; a
new attempt starts when the host is asked about again after ``RETRY_SECONDS``).
A host whose forward stops answering goes back to ``connecting`` and is set up
again. One host's trouble never touches this machine's list or another host's.

The cockpit's control masters live in a directory of their own
(``<runtime>/cockpit-<pid>``), never shared with the ``coven --host`` commands
of the same user, so ending them when the cockpit stops (``close``) cannot cut
a terminal the user opened from the command line.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coven.client.errors import CovenClientError
from coven.client.hosts import HostEntry, HostsRoster, hosts_path, read_hosts
from coven.client.ssh import SshLink, private_dir, ssh_command_from
from coven.cockpit.cast_agent import ActivityLog, CastAgent
from coven.cockpit.daemon_link import DaemonDown, DaemonLink

RETRY_SECONDS = 15.0
CONNECT_WAIT = 75.0  # a proxied request waits this long for a connection under way
OVERVIEW_TIMEOUT = 10.0  # one host's list in /cockpit/hosts
REMOTE_TIMEOUT = 20.0  # one forwarded request


class HostUnavailable(Exception):
    """The named host cannot be asked right now; ``str`` is the sentence to show."""


class State(enum.Enum):
    IDLE = "new"  # never asked about yet (shown as connecting)
    CONNECTING = "connecting"
    REACHABLE = "reachable"
    UNREACHABLE = "unreachable"


@dataclass
class RemoteHost:
    """One named machine and where its connection stands."""

    entry: HostEntry
    ssh: SshLink | None  # None: the entry cannot be reached from here at all (``reason``)
    state: State = State.IDLE
    reason: str = ""
    failed_at: float = 0.0
    agent: CastAgent | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.entry.name

    def shown_state(self) -> str:
        return State.CONNECTING.value if self.state is State.IDLE else self.state.value


class RemoteHosts:
    """Every named host of one Coven home, connected on demand and closed together."""

    def __init__(
        self,
        home: Path,
        *,
        activity: ActivityLog,
        environ: Mapping[str, str],
        runtime: Path,
    ) -> None:
        self.path = hosts_path(home)
        self.activity = activity
        self.ssh_command = ["ssh"]
        self.ssh_command_error: str | None = None
        try:
            self.ssh_command = ssh_command_from(environ)
        except CovenClientError as exc:
            self.ssh_command_error = str(exc)  # every host shows it; this machine is unaffected
        self.runtime = runtime
        self.error: str | None = None
        self._hosts: dict[str, RemoteHost] = {}
        self._stamp: tuple[int, int, int] | None = None
        self._closed = False
        self._ending: set[asyncio.Task[None]] = set()  # connections of removed hosts closing

    # -- the roster -----------------------------------------------------------------------
    def reload(self) -> None:
        """Re-read ``hosts.toml`` if it changed; an invalid file keeps the last good roster."""
        try:
            st = os.stat(self.path)
            stamp: tuple[int, int, int] | None = (st.st_ino, st.st_size, st.st_mtime_ns)
        except FileNotFoundError:
            stamp = None
        except OSError as exc:
            self.error = f"cannot read {self.path}: {exc.strerror or exc}"
            return
        if stamp == self._stamp and self._stamp is not None:
            return
        if stamp is None and self._stamp is None and not self._hosts:
            self.error = None
            return
        self._stamp = stamp
        try:
            roster, _text = read_hosts(self.path)
        except CovenClientError as exc:
            self.error = str(exc)
            return
        self.error = None
        self._adopt(roster)

    def _adopt(self, roster: HostsRoster) -> None:
        """Keep the hosts whose entry is unchanged; new or changed ones start afresh."""
        before, after = self._hosts, {}
        for entry in roster.hosts:
            old = before.get(entry.name)
            after[entry.name] = old if old is not None and old.entry == entry else self._host(entry)
        for name, old in before.items():
            if after.get(name) is not old:
                self._discard(old)
        self._hosts = after

    def _host(self, entry: HostEntry) -> RemoteHost:
        if self.ssh_command_error is not None:
            return _unreachable(entry, self.ssh_command_error)
        try:
            link = SshLink(
                entry.target,
                label=entry.name,
                remote_command=entry.remote_command,
                ssh_command=self.ssh_command,
                runtime=self.runtime,
                batch=True,  # a server has no terminal to ask for a password on
            )
        except CovenClientError as exc:
            return _unreachable(entry, str(exc))
        return RemoteHost(entry, link)

    def _discard(self, host: RemoteHost) -> None:
        """Stop using ``host`` (removed from or changed in the file) and end its connection."""
        if host.task is not None:
            host.task.cancel()
        agent, ssh = host.agent, host.ssh
        host.agent, host.ssh = None, None

        async def end() -> None:
            if agent is not None:
                await agent.link.close()
            if ssh is not None:
                await asyncio.to_thread(ssh.close)

        with contextlib.suppress(RuntimeError):  # no loop: nothing was ever connected
            task = asyncio.get_running_loop().create_task(end())
            self._ending.add(task)
            task.add_done_callback(self._ending.discard)

    def summary(self) -> dict[str, Any]:
        """What ``/cockpit/context`` says about hosts: how many, and a roster error if any."""
        self.reload()
        return {"configured": len(self._hosts), "rosterError": self.error}

    def get(self, name: str) -> RemoteHost | None:
        self.reload()
        return self._hosts.get(name)

    # -- connections ----------------------------------------------------------------------
    def _ensure(self, host: RemoteHost) -> asyncio.Task[None] | None:
        """Start connecting ``host`` if it is new, or failed long enough ago; the attempt."""
        if host.task is not None and not host.task.done():
            return host.task
        if host.ssh is None or self._closed:
            return None
        due = host.state is State.IDLE or (
            host.state is State.UNREACHABLE and time.monotonic() - host.failed_at >= RETRY_SECONDS
        )
        if due:
            if host.state is State.IDLE:
                host.state = State.CONNECTING
            host.task = asyncio.get_running_loop().create_task(self._connect(host))
        return host.task

    async def _connect(self, host: RemoteHost) -> None:
        link = host.ssh
        assert link is not None
        try:
            private_dir(self.runtime.parent)
            socket_path = await asyncio.to_thread(link.open)
        except CovenClientError as exc:
            self._failed(host, str(exc))
            return
        except OSError as exc:
            self._failed(host, f"cannot reach {host.name}: {exc.strerror or exc}")
            return
        except Exception as exc:  # never stay "connecting" forever over a surprise
            self._failed(host, f"cannot reach {host.name}: {exc.__class__.__name__}: {exc}")
            return
        if host.agent is None:
            host.agent = CastAgent(
                DaemonLink(socket_path, timeout=REMOTE_TIMEOUT),
                default_project_root="",
                activity=self.activity,
                host=host.name,
            )
        host.state, host.reason = State.REACHABLE, ""

    def _failed(self, host: RemoteHost, reason: str) -> None:
        host.state, host.reason, host.failed_at = State.UNREACHABLE, reason, time.monotonic()

    def lost(self, host: RemoteHost) -> None:
        """The forward stopped answering: set it up again (the UI shows ``connecting``)."""
        if host.state is State.REACHABLE and host.ssh is not None and not self._closed:
            host.state = State.CONNECTING
            host.task = asyncio.get_running_loop().create_task(self._connect(host))

    async def agent_for(self, host: RemoteHost) -> CastAgent:
        """The host's agent, connecting first if needed; ``HostUnavailable`` says why not."""
        attempt = self._ensure(host)
        if attempt is not None and not attempt.done():
            try:
                await asyncio.wait_for(asyncio.shield(attempt), CONNECT_WAIT)
            except TimeoutError as exc:
                raise HostUnavailable(f"{host.name} is still connecting; try again") from exc
        if host.state is not State.REACHABLE or host.agent is None:
            raise HostUnavailable(host.reason or f"{host.name} is not connected")
        return host.agent

    # -- the overview ---------------------------------------------------------------------
    async def overview(self, known: Mapping[str, str]) -> dict[str, Any]:
        """Every host's state and, when reachable, its daemon, features and sessions.

        ``known`` maps host names to the sessions digest the UI already has; a
        host's ``sessions`` are left out when its digest is unchanged.
        """
        self.reload()
        hosts = list(self._hosts.values())
        docs = await asyncio.gather(*(self._one(h, known.get(h.name, "")) for h in hosts))
        return {"hosts": docs, "rosterError": self.error}

    async def _one(self, host: RemoteHost, digest: str) -> dict[str, Any]:
        self._ensure(host)
        doc: dict[str, Any] = {"name": host.name, "target": host.entry.target.url}
        if host.state is State.REACHABLE and host.agent is not None:
            try:
                ctx = await asyncio.wait_for(
                    host.agent.context(sessions_digest=digest), OVERVIEW_TIMEOUT
                )
            except TimeoutError:
                ctx = {"daemon": {"reachable": False}}
            except DaemonDown:
                ctx = {"daemon": {"reachable": False}}
            if ctx["daemon"]["reachable"]:
                doc.update(state=State.REACHABLE.value, reason=None)
                health = ctx["daemon"]["health"]
                doc["daemon"] = {
                    "covenVersion": health.get("covenVersion"),
                    "liveSessions": health.get("liveSessions"),
                }
                doc.update(features=ctx["features"], harnesses=ctx["harnesses"])
                doc["sessionsDigest"] = ctx["sessionsDigest"]
                if "sessions" in ctx:
                    doc["sessions"] = ctx["sessions"]
                return doc
            self.lost(host)
        doc.update(state=host.shown_state(), reason=host.reason or None)
        return doc

    # -- the end --------------------------------------------------------------------------
    async def close(self) -> None:
        """End every connection this cockpit made and remove its runtime directory."""
        self._closed = True
        hosts = list(self._hosts.values())
        self._hosts = {}
        for host in hosts:
            if host.task is not None and not host.task.done():
                host.task.cancel()
        for host in hosts:
            if host.agent is not None:
                await host.agent.link.close()
        # An attempt still running on its thread holds the link's lock; close() waits for it.
        links = [h.ssh for h in hosts if h.ssh is not None]
        await asyncio.gather(*(asyncio.to_thread(link.close) for link in links))
        await asyncio.gather(*self._ending, return_exceptions=True)
        shutil.rmtree(self.runtime, ignore_errors=True)


def _unreachable(entry: HostEntry, reason: str) -> RemoteHost:
    return RemoteHost(entry, None, State.UNREACHABLE, reason)
