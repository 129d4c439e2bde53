"""The pages under load (docs/performance.md, "The pages under load"): users of the `seed_load`
Organization, each with its own portal session and API token, opening the ten pages and endpoints a
customer uses most (demo.loadrun.PAGES, with their weights), 0.5 to 1.5 s apart. Run by
`make bench-pages`, which writes the plan this file reads (LOAD_PLAN); never collected by the tests."""

import itertools
import json
import os
import random
from typing import Any

from locust import HttpUser, between, task

PLAN: dict[str, Any] = json.loads(open(os.environ["LOAD_PLAN"]).read())  # noqa: PTH123, SIM115
PAGES = PLAN["pages"]
WEIGHTS = [page["weight"] for page in PAGES]
_numbers = itertools.count()


class Customer(HttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        user = PLAN["users"][next(_numbers) % len(PLAN["users"])]
        self.client.cookies.set(PLAN["cookie"], user["session"])  # the portal's session (logged in by the plan)
        self.api = {"Authorization": f"Token {user['token']}"}

    @task
    def open_a_page(self) -> None:
        page = random.choices(PAGES, weights=WEIGHTS)[0]
        ids = {key: value if isinstance(value, int) else random.choice(value) for key, value in PLAN["ids"].items()}
        if page["api"]:
            # DRF tries the token first (config.settings.base): the session cookie is not used.
            self.client.get(page["path"].format(**ids), headers=self.api, name=page["name"])
        else:
            self.client.get(page["path"].format(**ids), name=page["name"])
