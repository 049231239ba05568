"""The runtime: sessions, their lifecycle, the event sink, attach, rituals, the control plane.

Typed commands in, typed results out, ``CovenError``s for refusals; no HTTP.
``Runtime`` (``coven.runtime.service``) wires the services together.
"""

from coven.runtime.service import Runtime

__all__ = ["Runtime"]
