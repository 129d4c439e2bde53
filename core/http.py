from django.http import HttpRequest


def client_address(request: HttpRequest) -> str | None:
    """The client's address as seen by the web server (the proxy sets REMOTE_ADDR in production)."""
    return request.META.get("REMOTE_ADDR") or None
