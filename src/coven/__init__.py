"""Coven: a local runtime that runs coding-agent CLIs as supervised, project-scoped sessions."""

__version__ = "0.1.0"
