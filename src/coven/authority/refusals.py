"""Refusals specific to launch and registration bodies.

These mirror reference error codes that ``coven.errors`` does not (yet) carry.
They subclass ``InvalidRequest`` so a caller that only knows the base class
still maps them to 400.
"""

from __future__ import annotations

from coven.errors import InvalidRequest, UnknownFamiliar


class ExecutionBindingInvalid(InvalidRequest):
    """The body carries an ``executionBinding``; this daemon serves no bound routes."""

    code = "execution_binding_invalid"


class RequestAdoptionInvalid(InvalidRequest):
    """The body carries ``requestAdoption`` without a usable execution binding."""

    code = "request_adoption_invalid"


__all__ = ["ExecutionBindingInvalid", "RequestAdoptionInvalid", "UnknownFamiliar"]
