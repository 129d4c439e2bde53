"""The Organizations of the benchmarks' throw-away populations (bench_lifecycle, bench_usage): one
shape for all, written in bulk. Never used by the product itself."""

import datetime as dt

from accounts.models import Organization


def bench_organizations(*, prefix: str, start: int, count: int, created_at: dt.datetime) -> list[Organization]:
    """`count` Swiss Organizations numbered from `start`, inserted in one statement (with their ids)."""
    return Organization.objects.bulk_create(
        [
            Organization(
                name=f"{prefix} {start + i}",
                contact_first_name="Bench",
                contact_last_name="Customer",
                contact_email=f"{prefix}{start + i}@example.com",
                mobile="+41791234567",
                street="Rue du Banc 1",
                postal_code="1003",
                city="Lausanne",
                country="CH",
                billing_country="CH",
                language="en",
                created_at=created_at,
            )
            for i in range(count)
        ]
    )
