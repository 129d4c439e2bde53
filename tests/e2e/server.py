"""The app as `make run` starts it, for the end-to-end suite: `migrate`, `seed_demo`, then bin/run-dev
(web server, Celery worker and beat) on a free port, with a database of its own.

On PostgreSQL (the test run's DATABASE_URL) the database is a fresh `portal_e2e_<token>`, dropped
afterwards; on SQLite a file under var/. The server's Celery queue and beat schedule are its own, so
a `make run` on the same broker neither takes its tasks nor gives it its own.
"""

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
STARTUP_SECONDS = 90  # bin/run-dev on a busy CI machine: role check, three processes, first request


@dataclass(frozen=True)
class Server:
    url: str
    env: dict[str, str]
    log: Path

    def manage(self, *args: str) -> str:
        """A management command against the server's database (as `make totp` would run it)."""
        done = subprocess.run(  # noqa: S603
            [str(PYTHON), "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, check=False
        )
        if done.returncode:
            raise RuntimeError(f"manage.py {args[0]} ended with {done.returncode}:\n{done.stderr[-4000:]}")
        return done.stdout

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"url": self.url, "env": self.env, "log": str(self.log)}))

    @classmethod
    def load(cls, path: Path) -> "Server":
        data = json.loads(path.read_text())
        return cls(url=data["url"], env=data["env"], log=Path(data["log"]))

    def shell(self, code: str) -> str:
        """Python run by `manage.py shell` against the server's database: what staff or monitoring
        would have done before a journey (an incident to claim), not what the journey proves."""
        return self.manage("shell", "--no-imports", "-c", code).strip()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _postgres_admin() -> tuple[dict[str, str | int], str]:
    """Connection arguments to the test run's PostgreSQL server, and the URL prefix of its owner."""
    db = settings.DATABASES["default"]
    user, password = db.get("USER") or "postgres", db.get("PASSWORD") or ""
    host, port = db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432)
    credentials = quote(user) + (f":{quote(password)}" if password else "")
    return (
        {"host": host, "port": port, "user": user, "password": password, "dbname": "postgres"},
        f"postgres://{credentials}@{host}:{port}/",
    )


@contextmanager
def _database(token: str) -> Iterator[str]:
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        import psycopg

        arguments, prefix = _postgres_admin()
        name = f"portal_e2e_{token}"
        with psycopg.connect(**arguments, autocommit=True) as admin:  # type: ignore[arg-type]
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield prefix + name
        finally:
            with psycopg.connect(**arguments, autocommit=True) as admin:  # type: ignore[arg-type]
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        path = ROOT / "var" / f"e2e-{token}.sqlite3"
        try:
            yield f"sqlite:///{path}"
        finally:
            path.unlink(missing_ok=True)


def _wait_until_served(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"bin/run-dev ended with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the server did not answer within {STARTUP_SECONDS}s:\n{log.read_text()[-4000:]}")


@contextmanager
def portal_server(workdir: Path) -> Iterator[Server]:
    token = secrets.token_hex(4)
    port = _free_port()
    log = workdir / "server.log"
    with _database(token) as database_url:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_"))}
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings.local",
            DATABASE_URL=database_url,
            PORT=str(port),
            CELERY_TASK_DEFAULT_QUEUE=f"portal-e2e-{token}",
            CELERY_BEAT_SCHEDULE_FILE=str(workdir / "celerybeat-schedule"),
            MEDIA_ROOT=str(workdir / "media"),
            EVIDENCE_SEAL_DIR=str(workdir / "evidence"),
            EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend",
        )
        server = Server(url=f"http://127.0.0.1:{port}", env=env, log=log)
        # `make seed`: migrate, then the demo data (as the owner of the tables, before bin/run-dev
        # switches the processes to the application role on PostgreSQL).
        server.manage("migrate", "--noinput")
        server.manage("seed_demo")
        with log.open("wb") as output:
            process = subprocess.Popen(  # noqa: S603
                [str(ROOT / "bin" / "run-dev")],
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the three processes stop together
            )
        try:
            _wait_until_served(server.url, process, log)
            yield server
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


if __name__ == "__main__":
    # Writing journeys: `python -m tests.e2e.server DIR` keeps a server running (Ctrl-C stops it) and
    # describes it in DIR/server.json; `E2E_SERVER=DIR/server.json pytest tests/e2e` then reuses it.
    import sys

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    django.setup()
    folder = Path(sys.argv[1]).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stops the server's processes and drops its database
    with portal_server(folder) as running:
        running.save(folder / "server.json")
        print(f"{running.url}  (E2E_SERVER={folder / 'server.json'})", flush=True)
        with suppress(KeyboardInterrupt):
            signal.pause()
