"""SMS backends: pluggable like Django's e-mail backends (setting SMS_BACKEND)."""

import logging
import sys

logger = logging.getLogger(__name__)


class BaseSMSBackend:
    def send(self, *, to: str, text: str) -> None:
        raise NotImplementedError


class ConsoleSMSBackend(BaseSMSBackend):
    """Writes the message to standard output: the development default."""

    def send(self, *, to: str, text: str) -> None:
        sys.stdout.write(f"--- SMS to {to} ---\n{text}\n---\n")
        sys.stdout.flush()


# Messages sent with the locmem backend, for tests (like django.core.mail.outbox).
outbox: list[dict[str, str]] = []


class LocmemSMSBackend(BaseSMSBackend):
    def send(self, *, to: str, text: str) -> None:
        outbox.append({"to": to, "text": text})
