"""No rule id ("REN-5", "SC 8.3", "TCU 12.9") in what a customer reads (issue 17): the customer
templates (pages, e-mails), and the catalogs' entries used outside the staff admin. Rule ids stay in
the evidence, the API's `rule` field and the staff admin."""

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)

# The contract's rule ids: "REN-5", "PRE-4", "ORG-10", and the clauses of the contract's documents
# "SC 8.3", "TCU 12.9" (also as the catalogs translate the documents' initials: BB, CP, AGB, CG).
RULE_ID = re.compile(
    r"\b(?:ORG|BIL|SLA|REN|PRE|ENF|USE|SUP|EVD|RW|MB|MONEY|TIME|BANK|QR|CAMT|SEC)-\d+\b"
    r"|\b(?:SC|TCU|BB|CP|AGB|CG|CGU|CGA|CGV|CU)[ -]\d+(?:\.\d+)*\b"
)
# A payment gateway's codes ("card_declined") are not words either.
GATEWAY_CODE = re.compile(r"\b(?:card_declined|insufficient_funds|authentication_required|expired_card|do_not_honor)\b")

STAFF_PATHS = ("templates/admin/",)


def _staff_only(occurrences: list[tuple[str, str]]) -> bool:
    """A catalog entry used only by the staff admin (admin.py modules, templates/admin)."""
    paths = [path for path, _line in occurrences]
    return bool(paths) and all(path.endswith("admin.py") or path.startswith(STAFF_PATHS) for path in paths)


def customer_templates() -> list[Path]:
    root = BASE_DIR / "templates"
    return sorted(
        path
        for path in root.rglob("*")
        if path.suffix in {".html", ".txt"} and not path.relative_to(root).as_posix().startswith("admin/")
    )


def test_the_patterns_find_what_they_are_for() -> None:
    # given / then: the scan would see a rule id or a gateway code, and not an ordinary number
    assert RULE_ID.findall("until 3 May (REN-5), see SC 8.3, TCU 12.9 and BB 8.3") == [
        "REN-5",
        "SC 8.3",
        "TCU 12.9",
        "BB 8.3",
    ]
    assert GATEWAY_CODE.findall("reason: card_declined") == ["card_declined"]
    assert RULE_ID.findall("CHE-116.281.710 MWST, ISO-8601, SHA-256, 8.1 % VAT, 99.9 %") == []


def test_no_customer_template_names_a_rule_or_a_gateway_code() -> None:
    found = {
        str(path.relative_to(BASE_DIR)): RULE_ID.findall(text) + GATEWAY_CODE.findall(text)
        for path in customer_templates()
        if (text := path.read_text(encoding="utf-8"))
    }
    assert {path: ids for path, ids in found.items() if ids} == {}
    assert len(found) > 50  # the scan reads the templates, not an empty folder


@pytest.mark.parametrize("language", ["fr", "de", "it", "es"])
def test_no_catalog_entry_a_customer_reads_names_a_rule(language: str) -> None:
    catalog = polib.pofile(str(Path(settings.LOCALE_PATHS[0]) / language / "LC_MESSAGES" / "django.po"))
    found = [
        entry.msgid
        for entry in catalog
        if not entry.obsolete
        and not _staff_only(entry.occurrences)
        and (RULE_ID.search(f"{entry.msgid} {entry.msgstr}") or GATEWAY_CODE.search(f"{entry.msgid} {entry.msgstr}"))
    ]
    assert found == []
    assert len(catalog) > 500
