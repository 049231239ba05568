"""The OpenAPI document for the ``/api/v1`` surface (placeholder until generated)."""

from __future__ import annotations

from typing import Any


def openapi_document() -> dict[str, Any]:
    return {"openapi": "3.0.3", "info": {"title": "Coven daemon API", "version": "v1"}, "paths": {}}
