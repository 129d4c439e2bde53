"""Keyset pages of the API's lists: newest first, a bounded number of rows, the older ones behind the
`Link` header's `rel="next"` address (RFC 8288), `?before=<key>` naming the last row shown.

Unlike the portal's numbered pages (core.paging), a keyset page does not shift when rows are added
while a client walks the list, and costs no count. The key is a unique field of the rows (an
invoice's number, a Service's or ticket's id); the order is the queryset's own, every field
descending. The row `before` names is looked up in the same queryset, so a key the member cannot see
is refused like one that does not exist: nothing about other Organizations shows (ORG-6). Ordered by the key
alone (invoices by number), `before` is a bound and needs no row.
"""

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

API_PAGE_SIZE = 50


@dataclass(frozen=True)
class KeysetPage:
    rows: list[Any]
    next_url: str | None

    def link_header(self) -> dict[str, str]:
        return {"Link": f'<{self.next_url}>; rel="next"'} if self.next_url else {}


def _descending_fields(rows: QuerySet[Any]) -> list[str]:
    fields = [str(field) for field in rows.query.order_by]
    if not fields or not all(field.startswith("-") for field in fields):
        raise ValueError(f"a keyset page needs a queryset ordered by descending fields, not {fields}")
    return [field[1:] for field in fields]


def _after(rows: QuerySet[Any], fields: list[str], last: dict[str, Any]) -> QuerySet[Any]:
    """The rows after `last` in the order (fields descending): (a < x) or (a = x and b < y) …"""
    condition = Q()
    for n, field in enumerate(fields):
        equal = {name: last[name] for name in fields[:n]}
        condition |= Q(**equal, **{f"{field}__lt": last[field]})
    return rows.filter(condition)


def keyset_page(
    request: Request, rows: QuerySet[Any], *, key: str, invalid: str, size: int | None = None
) -> KeysetPage:
    """The page of `rows` after the one whose `key` is `?before=`, or the first. `invalid`: the
    message of a `before` that is not a number, or not the key of a row of `rows` (400)."""
    size = size or API_PAGE_SIZE
    fields = _descending_fields(rows)
    before = request.query_params.get("before")
    if before is not None:
        if not (before.isascii() and before.isdigit() and len(before) <= 18):
            raise ValidationError({"before": [invalid]})
        if fields == [key]:  # ordered by the key alone: the rows below it, whether or not it is a row
            rows = rows.filter(**{f"{key}__lt": int(before)})
        else:
            last = rows.filter(**{key: int(before)}).values(*fields).first()
            if last is None:
                raise ValidationError({"before": [invalid]})
            rows = _after(rows, fields, last)
    fetched = list(rows[: size + 1])  # one more than shown tells whether older ones exist
    if len(fetched) <= size:
        return KeysetPage(rows=fetched, next_url=None)
    older = request.build_absolute_uri(f"?before={getattr(fetched[size - 1], key)}")
    return KeysetPage(rows=fetched[:size], next_url=older)
