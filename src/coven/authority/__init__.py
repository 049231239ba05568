"""The daemon's authority: pure validation run before any row or process exists.

Imports only the standard library and the leaves ``coven.errors`` and ``coven.schema``.
"""

from coven.authority.environment import parse_environment
from coven.authority.external import (
    ExternalRegistration,
    parse_external,
    validate_harness_id,
    validate_session_id,
)
from coven.authority.familiars import (
    Familiar,
    Roster,
    add_familiar,
    parse_roster,
    remove_familiar,
    render_roster,
)
from coven.authority.fields import parse_labels
from coven.authority.home import (
    check_safe_file,
    default_home,
    open_lock_file,
    open_log_file,
    prepare_home,
)
from coven.authority.launch import Conversation, LaunchRequest, parse_conversation, parse_launch
from coven.authority.live_input import parse_input, parse_resize
from coven.authority.paths import (
    canonical_directory,
    confine_to_lane,
    is_within,
    resolve_cwd,
    resolve_project_root,
)
from coven.authority.peer import is_same_user, peer_credentials
from coven.authority.refusals import ExecutionBindingInvalid, RequestAdoptionInvalid
from coven.authority.shutdown import ShutdownRequest, parse_shutdown
from coven.schema.home import HomePaths

__all__ = [
    "Conversation",
    "ExecutionBindingInvalid",
    "ExternalRegistration",
    "Familiar",
    "HomePaths",
    "LaunchRequest",
    "RequestAdoptionInvalid",
    "Roster",
    "ShutdownRequest",
    "add_familiar",
    "canonical_directory",
    "check_safe_file",
    "confine_to_lane",
    "default_home",
    "is_same_user",
    "is_within",
    "open_lock_file",
    "open_log_file",
    "parse_conversation",
    "parse_environment",
    "parse_external",
    "parse_input",
    "parse_labels",
    "parse_launch",
    "parse_resize",
    "parse_roster",
    "parse_shutdown",
    "peer_credentials",
    "prepare_home",
    "remove_familiar",
    "render_roster",
    "resolve_cwd",
    "resolve_project_root",
    "validate_harness_id",
    "validate_session_id",
]
