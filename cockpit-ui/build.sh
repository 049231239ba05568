#!/usr/bin/env bash
# Rebuild the cockpit's browser app from its pinned npm sources into
# src/coven/cockpit/static/ and stamp static/manifest.json with the digest of the
# sources, which tests/unit/test_cockpit_bundle.py checks. Needs node + npm and
# python3 (3.11+); the built files are committed, so users need neither.
set -euo pipefail
ui="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$ui")"
cd "$ui"
npm ci --no-audit --no-fund
npm run --silent typecheck
npm run --silent build
PYTHONPATH="$repo/src" python3 -m coven.cockpit.bundle stamp "$ui"
