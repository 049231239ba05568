"""The shipped ``demo`` adapter recipe (``coven adapter install demo``)."""

from __future__ import annotations

from importlib import resources

DEMO_ADAPTER_ID = "demo"
DEMO_MANIFEST_RESOURCE = "demo_manifest.json"


def demo_manifest_text() -> str:
    """The exact text to write to ``<COVEN_HOME>/adapters/demo.json``."""
    return resources.files("coven.harness").joinpath(DEMO_MANIFEST_RESOURCE).read_text("utf-8")
