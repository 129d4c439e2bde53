"""localstripe, a fake Stripe server, for the Stripe gateway's tests: one per test session (and per
pytest-xdist worker), on a free 127.0.0.1 port, stopped at the end. Skipped only where localstripe is not
installed (requirements-dev.txt installs it), and never in CI."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVER = Path(__file__).with_name("localstripe_server.py")
STARTUP_SECONDS = 30


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    request = urllib.request.Request(f"{url}/v1/customers", headers={"Authorization": "Bearer sk_test_ping"})
    try:
        with urllib.request.urlopen(request, timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a running localstripe (STRIPE_API_BASE for the Stripe gateway)."""
    try:
        import localstripe  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("localstripe is not installed (pip install -r requirements-dev.txt)")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("localstripe") / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, str(SERVER), str(port)], stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _answers(url):
            if process.poll() is not None:
                raise RuntimeError(f"localstripe did not start: {log.read_text(errors='replace')}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"localstripe did not answer on {url} within {STARTUP_SECONDS} s")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
