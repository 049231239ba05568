"""The web cockpit: a local server for a browser workspace over the daemon's API.

``coven cockpit`` runs ``launch.main``: a server on 127.0.0.1 with a per-launch
token (``guard``) that serves the prebuilt app (``bundle``, ``static/``),
forwards an allow-list of daemon routes (``allowlist``) to the daemon's Unix
socket (``daemon_link``), and assembles workspace context through Cast Agent
(``cast_agent``), which performs every operation through the API and logs it.
The machines named in ``hosts.toml`` are reached over the CLI's SSH forwards
(``remote_hosts``) and proxied under ``/hosts/<name>/`` with the same checks.
The cockpit is a client: it imports nothing of the daemon's own layers.
"""
