"""Harness adapters: argv per harness, manifests, and availability for doctor.

Layer rule: imports only ``coven.errors`` and the standard library; never
``pty``, ``store``, ``runtime`` or ``api``. Nothing here runs a harness.
"""

from coven.harness.adapter import (
    Adapter,
    AdapterSource,
    Capabilities,
    ContinuityArgs,
    ModelIdTransform,
    Sandbox,
    StreamArgs,
)
from coven.harness.argv import (
    ARG_STRLEN_MAX,
    BuiltArgv,
    LaunchOptions,
    build_argv,
    exec_budget,
    is_safe_model,
    transform_model,
)
from coven.harness.availability import (
    HarnessStatus,
    describe_availability,
    missing_executable_message,
    resolve_executable,
)
from coven.harness.builtins import BUILTIN_ADAPTERS, CLAUDE, CODEX, EXTERNAL_ONLY_IDS
from coven.harness.demo import DEMO_ADAPTER_ID, demo_manifest_text
from coven.harness.hooks import hook_args
from coven.harness.manifest import ManifestLoad, ManifestProblem, load_manifest_file, parse_manifest
from coven.harness.registry import HarnessRegistry, unsupported_harness_message

__all__ = [
    "ARG_STRLEN_MAX",
    "BUILTIN_ADAPTERS",
    "CLAUDE",
    "CODEX",
    "DEMO_ADAPTER_ID",
    "EXTERNAL_ONLY_IDS",
    "Adapter",
    "AdapterSource",
    "BuiltArgv",
    "Capabilities",
    "ContinuityArgs",
    "HarnessRegistry",
    "HarnessStatus",
    "LaunchOptions",
    "ManifestLoad",
    "ManifestProblem",
    "ModelIdTransform",
    "Sandbox",
    "StreamArgs",
    "build_argv",
    "demo_manifest_text",
    "describe_availability",
    "exec_budget",
    "hook_args",
    "is_safe_model",
    "load_manifest_file",
    "missing_executable_message",
    "parse_manifest",
    "resolve_executable",
    "transform_model",
    "unsupported_harness_message",
]
