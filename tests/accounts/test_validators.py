"""SPEC ORG-1 (valid mobile number in E.164) and ORG-10 (VAT number format), with maintained libraries."""

import pytest
from django.core.exceptions import ValidationError

from accounts.validators import normalize_phone, normalize_vat_number


@pytest.mark.parametrize(
    ("raw", "e164"),
    [("+41 79 123 45 67", "+41791234567"), ("+33 6 12 34 56 78", "+33612345678"), ("+1 415 555 2671", "+14155552671")],
)
def test_org1_mobile_numbers_are_stored_in_e164(raw: str, e164: str) -> None:
    assert normalize_phone(raw, mobile=True) == e164


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("079 123 45 67", "international format"),
        ("+41 44 123 45 67", "not a mobile"),  # a Zurich landline
        ("+41 79 123", "does not exist"),
        ("hello", "international format"),
    ],
)
def test_org1_bad_mobile_numbers_are_refused_with_a_reason(raw: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        normalize_phone(raw, mobile=True)


def test_org1_landline_accepts_fixed_lines() -> None:
    assert normalize_phone("+41 44 123 45 67", mobile=False) == "+41441234567"


@pytest.mark.parametrize(
    ("raw", "compact"),
    [
        ("CHE-116.281.710 MWST", "CHE116281710MWST"),
        ("DE 136,695 976", "DE136695976"),
        ("fr40303265045", "FR40303265045"),
    ],
)
def test_org10_vat_numbers_are_checked_and_compacted(raw: str, compact: str) -> None:
    assert normalize_vat_number(raw) == compact


@pytest.mark.parametrize("raw", ["CHE-116.281.711 MWST", "DE136695977", "XX123", "12345"])
def test_org10_invalid_vat_numbers_are_refused(raw: str) -> None:
    with pytest.raises(ValidationError, match="not a valid Swiss or EU VAT number"):
        normalize_vat_number(raw)
