"""localstripe (a fake Stripe server) on 127.0.0.1:PORT, in memory only: `python localstripe_server.py PORT`.

localstripe's own command listens on every interface and pickles its whole store to /tmp after each
change; the tests need neither (tests/billing/conftest.py starts one per test session)."""

import sys

from aiohttp import web
from localstripe import resources, server

resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]

if __name__ == "__main__":
    web.run_app(server.app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
