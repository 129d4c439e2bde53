"""The month names as a date writes them in each language: "3 dicembre 2026", "3. Dezember 2026".

Django's own Italian catalog capitalizes the month names ("3 Dicembre 2026"); Italian writes them in
lower case. The portal's catalogs (LOCALE_PATHS) take precedence over Django's, so they give the names
again; this module only names the msgids so that `makemessages` keeps them. Nothing imports it.
"""

from django.utils.translation import gettext_noop

MONTHS = (
    gettext_noop("January"),
    gettext_noop("February"),
    gettext_noop("March"),
    gettext_noop("April"),
    gettext_noop("May"),
    gettext_noop("June"),
    gettext_noop("July"),
    gettext_noop("August"),
    gettext_noop("September"),
    gettext_noop("October"),
    gettext_noop("November"),
    gettext_noop("December"),
)
