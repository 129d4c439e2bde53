"""USE-2 on PostgreSQL with real processes: two metering clients sending overlapping batches at the
same time (in opposite orders) store and count every value once, and neither fails."""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.usage.metering import NOW, stored, totals, usage_service, value
from usage import engine

ROOT = Path(__file__).resolve().parents[2]

_CLIENT = """
import datetime as dt, json, sys
from decimal import Decimal
import django
django.setup()
from audit.services import Actor
from usage.services.ingest import values_record

batches = json.load(open(sys.argv[1]), parse_float=Decimal)
now = dt.datetime.fromisoformat(sys.argv[2])
counts = {"new": 0, "unchanged": 0, "corrected": 0, "refused": 0}
for batch in batches:
    result = values_record(values=batch, actor=Actor.system("metering"), now=now)
    for name in ("new", "unchanged", "corrected"):
        counts[name] += getattr(result, name)
    counts["refused"] += len(result.refused)
print(json.dumps(counts))
"""


def _env() -> dict[str, str]:
    database = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/"
        f"{database['NAME']}",
    }


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_use2_two_metering_clients_sending_overlapping_batches_at_once_count_every_value_once(tmp_path) -> None:  # noqa: ANN001
    # given four usage Services, and two days of hourly values for two resources (across 1 March)
    services = [usage_service() for _ in range(4)]
    hours = [dt.datetime(2026, 2, 28, tzinfo=dt.UTC) + n * engine.HOUR for n in range(48)]
    values = [
        value(service, hour, (service.pk * 7 + n) % 50 + 1, resource=slug)
        for service in services
        for n, hour in enumerate(hours)
        for slug in ("storage", "traffic")
    ]
    # client A sends them in batches of 100 in order, client B in batches of 70 in reverse order:
    # every value is sent by both, and most batches of one overlap several of the other's
    files = []
    for name, ordered, size in (("a", values, 100), ("b", values[::-1], 70)):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps([ordered[i : i + size] for i in range(0, len(ordered), size)]))
        files.append(path)

    # when both run at once, as separate processes
    clients = [
        subprocess.Popen(
            [sys.executable, "-c", _CLIENT, str(path), NOW.isoformat()],
            cwd=ROOT,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for path in files
    ]
    outputs = [client.communicate(timeout=180) for client in clients]

    # then both succeed; each value was new for exactly one of them and unchanged for the other
    assert [client.returncode for client in clients] == [0, 0], outputs
    counts = [json.loads(out) for out, _err in outputs]
    assert sum(c["new"] for c in counts) == len(values)
    assert sum(c["unchanged"] for c in counts) == len(values)
    assert [(c["corrected"], c["refused"]) for c in counts] == [(0, 0), (0, 0)]
    # and every value is stored once, and counted once in its month
    for service in services:
        expected: dict[tuple[dt.date, str], int] = {}
        mine = [v for v in values if v["service"] == service.pk]
        assert len(stored(service)) == len(mine)
        for v in mine:
            hour = dt.datetime.fromisoformat(v["hour"])
            key = (engine.month_of(engine.slot_of(hour)[0]), v["resource"])
            expected[key] = expected.get(key, 0) + v["quantity"] * engine.MICRO
        assert totals(service) == expected
