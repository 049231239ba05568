"""Stable error codes and the daemon-side exception tree.

Leaf module: imports only the leaf ``coven.schema``. Every refusal the daemon
makes is a ``CovenError`` carrying a stable ``code`` (what clients branch on),
the HTTP ``status`` it maps to, a human ``message`` and optional ``details``.
``envelope()`` is the one place the wire body of a refusal is built; the CLI
turns a refusal into a sentence and an exit code.

    CovenError                    500 internal_error
    ├── InternalError             500 internal_error (transport shape)
    ├── InvalidRequest            400 invalid_request
    │   ├── ExecutionBindingInvalid   400 execution_binding_invalid   (authority.refusals)
    │   ├── RequestAdoptionInvalid    400 request_adoption_invalid    (authority.refusals)
    │   ├── UnknownFamiliar           400 unknown_familiar
    │   └── ReviewStateInvalid        400 review_state_invalid (details: state, allowed)
    ├── UnsupportedApiVersion     404 invalid_request (the reference's quirk)
    ├── Forbidden                 403 forbidden (peer is another user)
    ├── NotFound                  404 not_found (route)
    ├── SessionNotFound           404 session_not_found
    ├── HarnessNotFound           404 harness_not_found
    ├── SessionNotLive            409 session_not_live
    ├── SessionIdConflict         409 session_id_conflict
    ├── SessionConflict           409 session_conflict
    ├── DaemonIdentityMismatch    409 daemon_identity_mismatch (lifecycle shutdown)
    ├── NotExternalSession        422 not_external_session
    ├── ExternalNotKillable       422 external_session_not_killable
    ├── PayloadTooLarge           413 payload_too_large (transport shape)
    ├── InputTooLarge             413 input_too_large
    ├── EventResponseTooLarge     413 event_response_too_large
    ├── LaunchFailed              500 launch_failed
    │   └── SpawnError                500 launch_failed               (pty.child)
    ├── StorageUnavailable        503 storage_unavailable
    ├── DaemonShuttingDown        503 daemon_shutting_down
    ├── HomeRefused               (local) coven_home_refused
    ├── ManifestError             400 adapter_manifest_invalid
    ├── CastCodeError             400 invalid_cast_code (client-side parse; details say where)
    ├── RosterInvalid             500 familiar_lookup_failed (names file and line)
    ├── CallNotFound              404 call_not_found
    ├── CastTooLarge              413 cast_too_large
    ├── ReviewClosed              409 review_closed (details: reviewState — merged or discarded)
    ├── HolderUnavailable         503 holder_unavailable (a session's holder is gone)
    ├── HolderRefused             500 holder_refused (an impostor on a holder's socket)
    ├── RedactionConfigInvalid    (local) redaction_config_invalid    (redaction.config)
    ├── StoreCorrupt              (local) store_corrupt               (store.errors)
    ├── StoreIncompatible         (local) store_incompatible          (store.errors)
    ├── StoreOpFailed             500 store_op_failed                 (store.errors)
    └── WorkspaceError            git work of a session (coven.workspace)
        ├── NotAGitRepository         422 not_a_git_repository
        ├── RepositoryEmpty           409 repository_empty
        ├── GitUnavailable            503 git_unavailable
        ├── GitFailed                 500 git_failed
        ├── GitTimeout                504 git_timeout
        ├── LaneExists                409 lane_exists
        ├── LaneNotFound              404 lane_not_found
        ├── LanePathRefused           409 lane_path_refused
        ├── LaneDirty                 409 lane_dirty (details: files)
        ├── LaneUnmerged              409 lane_unmerged (details: commits, branch)
        ├── NoBaseBranch              409 no_base_branch
        ├── CheckoutNotOnBase         409 checkout_not_on_base_branch
        ├── CheckoutDirty             409 checkout_dirty (details: files)
        └── MergeConflict             409 merge_conflict (details: files)

"(local)" codes stop the daemon from starting; they never reach a client as a response.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from coven.schema.envelope import ErrorEnvelope, TransportError


class CovenError(Exception):
    """A refusal with a stable machine code."""

    code = "internal_error"
    status = 500
    # The reference answers a few refusals in ``{"ok": false, "error": {code, message}}``.
    transport_shape = False

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def envelope(self) -> dict[str, Any]:
        """The response body for this refusal, as plain JSON data.

        Built from the wire types of ``coven.schema.envelope``: ``{"error": {code,
        details (only when non-empty), message}}``, or the transport shape.
        """
        # Imported here, not at the top: the session holder process (coven.pty.holder)
        # imports this module and must run on the standard library alone.
        import msgspec

        from coven.schema.envelope import (
            ErrorBody,
            ErrorEnvelope,
            TransportError,
            TransportErrorBody,
        )

        body: ErrorEnvelope | TransportError
        if self.transport_shape:
            body = TransportError(False, TransportErrorBody(self.code, self.message))  # type: ignore[arg-type]
        else:
            body = ErrorEnvelope(
                ErrorBody(code=self.code, details=self.details or None, message=self.message)
            )
        data: dict[str, Any] = msgspec.to_builtins(body)
        return data


class InternalError(CovenError):
    """An unexpected failure inside the daemon (logged with its traceback, never sent)."""

    transport_shape = True

    @classmethod
    def of(cls, exc: BaseException) -> InternalError:
        """The error a request answers with when ``exc`` escaped its handler."""
        return cls(f"internal error: {exc.__class__.__name__}: {exc}")


class InvalidRequest(CovenError):
    code = "invalid_request"
    status = 400


class Forbidden(CovenError):
    """The connecting peer is not the daemon's user."""

    code = "forbidden"
    status = 403


class NotFound(CovenError):
    code = "not_found"
    status = 404


class UnsupportedApiVersion(CovenError):
    """Reference quirk: an unsupported ``/api/<v>/`` prefix is a 404 ``invalid_request``."""

    code = "invalid_request"
    status = 404


class SessionNotFound(CovenError):
    code = "session_not_found"
    status = 404


class HarnessNotFound(CovenError):
    code = "harness_not_found"
    status = 404


class SessionNotLive(CovenError):
    code = "session_not_live"
    status = 409


class SessionIdConflict(CovenError):
    code = "session_id_conflict"
    status = 409


class SessionConflict(CovenError):
    """A ritual refused because of the session's state (e.g. archive of a live session)."""

    code = "session_conflict"
    status = 409


class NotExternalSession(CovenError):
    code = "not_external_session"
    status = 422


class ExternalNotKillable(CovenError):
    code = "external_session_not_killable"
    status = 422


class PayloadTooLarge(CovenError):
    """The body is over the limit; it is refused unread, in the transport shape."""

    code = "payload_too_large"
    status = 413
    transport_shape = True


class InputTooLarge(CovenError):
    code = "input_too_large"
    status = 413


class EventResponseTooLarge(CovenError):
    code = "event_response_too_large"
    status = 413


class LaunchFailed(CovenError):
    code = "launch_failed"
    status = 500


class StorageUnavailable(CovenError):
    """Persistence is down (locked, full, failing): refuse work we could not record."""

    code = "storage_unavailable"
    status = 503


class DaemonIdentityMismatch(CovenError):
    """A lifecycle shutdown request names another daemon (or another API version)."""

    code = "daemon_identity_mismatch"
    status = 409


class DaemonShuttingDown(CovenError):
    code = "daemon_shutting_down"
    status = 503


class HomeRefused(CovenError):
    """COVEN_HOME (or a file in it) is unsafe to use: symlinked, foreign-owned, planted."""

    code = "coven_home_refused"
    status = 500


class ManifestError(CovenError):
    """A harness adapter manifest is unreadable or invalid (names file and field)."""

    code = "adapter_manifest_invalid"
    status = 400


class CastCodeError(CovenError):
    """A Cast Code that does not parse.

    ``details`` always holds ``reason`` (a stable sub-code such as
    ``missing_name``), ``position`` (0-based index into the code as given,
    where the problem was found; ``len(code)`` means "at the end") and
    ``expected`` (what would have been accepted there, in words).
    """

    code = "invalid_cast_code"
    status = 400

    def __init__(self, message: str, *, reason: str, position: int, expected: str) -> None:
        super().__init__(message, {"reason": reason, "position": position, "expected": expected})
        self.reason = reason
        self.position = position
        self.expected = expected


class UnknownFamiliar(InvalidRequest):
    """A familiar id that the roster does not declare (``details.familiarId``)."""

    code = "unknown_familiar"
    status = 400


class RosterInvalid(CovenError):
    """``familiars.toml`` cannot be used; ``details`` name ``path`` and, when known, ``line``."""

    code = "familiar_lookup_failed"
    status = 500


class CallNotFound(CovenError):
    """No Coven Calls record with that id (``details.callId``)."""

    code = "call_not_found"
    status = 404


class CastTooLarge(CovenError):
    """A targeted cast that the session's event log cannot take (``details.sessionId``)."""

    code = "cast_too_large"
    status = 413


class WorkspaceError(CovenError):
    """Base of the refusals and failures of the git layer (``coven.workspace``)."""

    code = "workspace_error"
    status = 500


class NotAGitRepository(WorkspaceError):
    """The directory (or the session's tree) is not inside a git work tree."""

    code = "not_a_git_repository"
    status = 422


class RepositoryEmpty(WorkspaceError):
    """The repository has no commit yet, so there is nothing to branch a lane from."""

    code = "repository_empty"
    status = 409


class GitUnavailable(WorkspaceError):
    """No ``git`` executable was found on the daemon's PATH."""

    code = "git_unavailable"
    status = 503


class GitFailed(WorkspaceError):
    """A git command exited with an unexpected status; details carry its stderr tail."""

    code = "git_failed"
    status = 500


class GitTimeout(WorkspaceError):
    """A git command ran past its time limit and was killed with its process group."""

    code = "git_timeout"
    status = 504


class LaneExists(WorkspaceError):
    """The lane's branch or directory already exists; Coven never overwrites either."""

    code = "lane_exists"
    status = 409


class LaneNotFound(WorkspaceError):
    """Neither the lane's worktree nor its branch exists any more."""

    code = "lane_not_found"
    status = 404


class LanePathRefused(WorkspaceError):
    """A lane's path is outside the worktrees directory or is not the branch's worktree."""

    code = "lane_path_refused"
    status = 409


class LaneDirty(WorkspaceError):
    """The lane has uncommitted work (``details.files``)."""

    code = "lane_dirty"
    status = 409


class LaneUnmerged(WorkspaceError):
    """The lane has commits its base branch does not contain (``details.commits``)."""

    code = "lane_unmerged"
    status = 409


class NoBaseBranch(WorkspaceError):
    """The session started on a detached HEAD: there is no branch to merge into."""

    code = "no_base_branch"
    status = 409


class CheckoutNotOnBase(WorkspaceError):
    """The user's checkout is not on the lane's base branch (``details.expected/actual``)."""

    code = "checkout_not_on_base_branch"
    status = 409


class CheckoutDirty(WorkspaceError):
    """The user's checkout has local changes to files the merge would write (``details.files``)."""

    code = "checkout_dirty"
    status = 409


class MergeConflict(WorkspaceError):
    """Merging would conflict (``details.files``); nothing was changed."""

    code = "merge_conflict"
    status = 409


class ReviewStateInvalid(InvalidRequest):
    """A review state a client may not set: unknown, or one only the daemon sets."""

    code = "review_state_invalid"
    status = 400


class ReviewClosed(CovenError):
    """The session's lane was merged or discarded; its review no longer changes."""

    code = "review_closed"
    status = 409


class HolderUnavailable(CovenError):
    """A session's holder process is gone or stopped answering (``details.reason``)."""

    code = "holder_unavailable"
    status = 503


class HolderRefused(CovenError):
    """What answered on a holder's socket is not the holder recorded for the session.

    ``details.reason`` says which check failed: ``peer_uid``, ``peer_pid``,
    ``start_time``, ``session_id``, ``version`` or ``not_a_holder``.
    """

    code = "holder_refused"
    status = 500
