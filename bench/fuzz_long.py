"""Long schemathesis run: ``python bench/fuzz_long.py [examples-per-operation]`` (default 1000)."""

from __future__ import annotations

import os
import subprocess
import sys

if __name__ == "__main__":
    examples = sys.argv[1] if len(sys.argv) > 1 else "1000"
    env = {**os.environ, "COVEN_FUZZ_EXAMPLES": examples}
    sys.exit(
        subprocess.call(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-s",
                "--timeout=0",
                "tests/reliability/test_openapi_fuzz.py::test_schemathesis_against_the_running_daemon",
            ],
            env=env,
        )
    )
