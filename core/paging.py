"""Pages of the portal's long lists (invoices, tickets): a bounded number of rows per request, so a
page costs the same time and queries whatever the Organization has (docs/performance.md, "The pages
under load"). Rendered by templates/_pager.html."""

from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest

PAGE_SIZE = 25


def page_of(items: Any, request: HttpRequest, *, size: int = PAGE_SIZE) -> Page:
    """The page `?page=` asks for (the last one past the end, the first one when it is not a number)."""
    return Paginator(items, size).get_page(request.GET.get("page"))
