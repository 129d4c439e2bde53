"""The French, German, Italian and Spanish catalogs are complete, and the committed .mo files match them.

SPEC SUP-1: the portal speaks five languages, English being the source. After
`manage.py makemessages -l fr -l de -l it -l es --no-obsolete --ignore=.venv --ignore=var --ignore=tests`
every entry must be translated (and not fuzzy), then `manage.py compilemessages --ignore=.venv` run and
the .mo files committed: a fresh machine may lack gettext.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import translation

LANGUAGES = ["fr", "de", "it", "es"]


def _catalog_path(language: str, extension: str) -> Path:
    return Path(settings.LOCALE_PATHS[0]) / language / "LC_MESSAGES" / f"django.{extension}"


def _as_dict(catalog: polib.POFile | polib.MOFile) -> dict[tuple[str | None, str], object]:
    """{(msgctxt, msgid): msgstr, or the plural forms} of the translated entries of a catalog."""
    return {
        (entry.msgctxt, entry.msgid): dict(entry.msgstr_plural) if entry.msgid_plural else entry.msgstr
        for entry in catalog
        if entry.msgid and not entry.obsolete
    }


@pytest.fixture(params=LANGUAGES)
def language(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def po(language: str) -> polib.POFile:
    return polib.pofile(str(_catalog_path(language, "po")))


def test_the_catalog_is_not_empty_and_names_its_language(po: polib.POFile, language: str) -> None:
    assert len(po) > 0
    assert po.metadata.get("Language") == language
    assert "charset=UTF-8" in po.metadata.get("Content-Type", "")
    assert po.metadata.get("Plural-Forms", "").startswith("nplurals=2;")
    assert not po.metadata_is_fuzzy


def test_every_entry_is_translated(po: polib.POFile) -> None:
    untranslated = [entry.msgid for entry in po.untranslated_entries()]
    assert untranslated == []


def test_no_entry_is_fuzzy(po: polib.POFile) -> None:
    fuzzy = [entry.msgid for entry in po.fuzzy_entries()]
    assert fuzzy == []


def test_no_entry_is_obsolete(po: polib.POFile) -> None:
    obsolete = [entry.msgid for entry in po.obsolete_entries()]
    assert obsolete == []


def test_the_committed_mo_matches_the_po(po: polib.POFile, language: str, tmp_path: Path) -> None:
    compiled_path = tmp_path / "django.mo"
    po.save_as_mofile(str(compiled_path))
    compiled = _as_dict(polib.mofile(str(compiled_path)))
    committed = _as_dict(polib.mofile(str(_catalog_path(language, "mo"))))
    assert committed == compiled, "run `manage.py compilemessages --ignore=.venv` and commit the .mo files"


def test_french_is_served() -> None:
    with translation.override("fr"):
        assert translation.gettext("Log in") == "Se connecter"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="gettext is not installed")
def test_every_string_of_the_code_is_in_the_catalogs(tmp_path: Path) -> None:
    """The step the docstring above names was not skipped: `makemessages` over a copy of the code
    adds no entry to the catalog (a string wrapped for translation but never extracted shows in
    English whatever the customer's language)."""
    root = Path(settings.BASE_DIR)
    copy = tmp_path / "code"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns(".venv", "var", ".git", "tests", "node_modules", "*.mo"))
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "de", "--no-obsolete", "--ignore=.venv", "--ignore=var"],
        cwd=copy,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local"},
        check=True,
        capture_output=True,
    )
    extracted = {(entry.msgctxt, entry.msgid) for entry in polib.pofile(str(copy / "locale/de/LC_MESSAGES/django.po"))}
    committed = {(entry.msgctxt, entry.msgid) for entry in polib.pofile(str(_catalog_path("de", "po")))}
    assert sorted(extracted - committed, key=str) == [], "run `make messages`, translate, and commit the catalogs"
