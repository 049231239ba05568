"""Secret scrubbing for everything the daemon stores.

Imports only the standard library and ``coven.errors``.
"""

from coven.redaction.config import RedactionConfig, RedactionConfigInvalid, load_redaction_config
from coven.redaction.keys import is_secret_key
from coven.redaction.patterns import REDACTED
from coven.redaction.redactor import Redactor, redact_payload, redact_text
from coven.redaction.stream import StreamRedactor
from coven.redaction.typed_input import Released, TypedInputRedactor

__all__ = [
    "REDACTED",
    "RedactionConfig",
    "RedactionConfigInvalid",
    "Redactor",
    "Released",
    "StreamRedactor",
    "TypedInputRedactor",
    "is_secret_key",
    "load_redaction_config",
    "redact_payload",
    "redact_text",
]
