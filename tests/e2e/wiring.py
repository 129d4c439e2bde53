"""Where the end-to-end suite finds Chromium: $CHROMIUM, else Debian's /usr/bin/chromium (apt package
`chromium`; Playwright's own browser download cannot work here). Read by tests/conftest.py, which skips
the suite with a banner when it is missing (an error in CI)."""

import os
from pathlib import Path

DEBIAN_CHROMIUM = "/usr/bin/chromium"


def chromium_path() -> str:
    return os.environ.get("CHROMIUM") or DEBIAN_CHROMIUM


def chromium_missing() -> bool:
    path = Path(chromium_path())
    return not (path.is_file() and os.access(path, os.X_OK))
