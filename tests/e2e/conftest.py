"""The `cli` fixture for every end-to-end CLI test."""

from tests.support.cli import cli

__all__ = ["cli"]
