"""JSON responses as every plain route sends them: one body, ``Content-Length``, then close."""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from coven.errors import CovenError

_encoder = msgspec.json.Encoder()


def encoded_response(status: int, body: bytes) -> web.Response:
    response = web.Response(status=status, body=body, content_type="application/json")
    response.force_close()
    return response


def json_response(status: int, body: Any) -> web.Response:
    return encoded_response(status, _encoder.encode(body))


def error_response(exc: CovenError) -> web.Response:
    return json_response(exc.status, exc.envelope())
