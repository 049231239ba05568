"""The composition root: the daemon process wires store, runtime and API together.

``python -m coven.daemon --home DIR [--ready-fd N]`` serves (``serve``);
``python -m coven.daemon adapters|install-adapter …`` are the daemon's offline
adapter commands (``adapters``), which the CLI runs so that only daemon code
reads and writes adapter manifests. This is the only package that imports both
``coven.runtime`` and ``coven.api``.
"""
