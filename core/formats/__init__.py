"""The portal's date and number formats per language, as Swiss users write them (issue 17).

Django looks a format up here first (settings.FORMAT_MODULE_PATH) and falls back to its own locale
files for whatever a module does not set (input formats, first day of the week).

Decisions (docs/decisions.md, issue 17):
- Every language writes a short date "03.12.2026" and a date that stands alone with its month named
  ("3 December 2026", "3. Dezember 2026", "3 décembre 2026", "3 dicembre 2026", "3 de diciembre de
  2026"): the customers are a Swiss provider's, whatever language they read.
- Amounts: de and it "1’234.50" (typographic apostrophe U+2019, as CLDR's de-CH and it-CH; the
  ASCII ' would be escaped to &#x27; in HTML); fr and es "1 234,50" (no-break space U+00A0, so an
  amount never breaks across lines); en "1,234.50", as English readers expect.
"""
