"""Gateway decline codes never reach customers: each reads as a sentence, in the e-mails of a failed
automatic debit too."""

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from billing.declines import DECLINE_SENTENCES, NEVER_RECEIVED, decline_sentence
from billing.gateway import AUTHENTICATION_REQUIRED


@pytest.mark.parametrize(
    ("code", "sentence"),
    [
        ("card_declined", "Your bank declined the card."),
        ("insufficient_funds", "The card does not have enough funds."),
        ("authentication_required", "Your bank asks you to confirm this payment yourself."),
        (AUTHENTICATION_REQUIRED, "Your bank asks you to confirm this payment yourself."),
        (NEVER_RECEIVED, "The payment did not reach the payment provider."),
        ("do_not_honor", "Your bank declined the card."),  # a code not listed: never shown as such
    ],
)
def test_each_code_reads_as_a_sentence(code: str, sentence: str) -> None:
    with translation.override("en"):
        assert decline_sentence(code) == sentence


def test_no_sentence_contains_a_code() -> None:
    with translation.override("en"):
        sentences = [decline_sentence(code) for code in DECLINE_SENTENCES]

    assert all("_" not in sentence and sentence.endswith(".") for sentence in sentences)


@pytest.mark.parametrize("template", ["renewal_attempt_failed", "usage_attempt_failed"])
def test_the_failed_debit_mail_says_why_in_words(template: str) -> None:
    attempt = SimpleNamespace(
        get_outcome_display="declined",
        amount=Decimal("108.10"),
        reason="insufficient_funds",
        invoice=SimpleNamespace(display_number="00000042"),
    )
    service = SimpleNamespace(plan="Jelastic Cloud · M", currency="CHF")

    with translation.override("en"):
        body = render_to_string(
            f"notifications/{template}/body.txt", {"attempt": attempt, "service": service, "due": dt.date(2026, 3, 14)}
        )

    assert "(CHF 108.10): declined. The card does not have enough funds.\n" in body
    assert "insufficient_funds" not in body
