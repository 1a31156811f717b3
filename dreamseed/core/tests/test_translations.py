"""Korean and Spanish are complete: every string of the app translated, nothing fuzzy, and every
placeholder kept. Run `make messages` after changing strings, translate, and this passes."""

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings

CATALOGUES = [
    Path(settings.BASE_DIR) / "locale" / code / "LC_MESSAGES" / "django.po" for code in ("ko", "es")
]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w*\}")


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda path: path.parts[-3])
def test_catalogue_is_complete(path):
    catalogue = polib.pofile(str(path))
    untranslated = [entry.msgid for entry in catalogue.untranslated_entries()]
    fuzzy = [entry.msgid for entry in catalogue.fuzzy_entries()]
    assert not untranslated, f"{len(untranslated)} untranslated, e.g. {untranslated[:5]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy, e.g. {fuzzy[:5]}"


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda path: path.parts[-3])
def test_translations_keep_every_placeholder(path):
    broken = []
    for entry in polib.pofile(str(path)):
        expected = set(PLACEHOLDER.findall(entry.msgid))
        translations = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
        for text in translations:
            if (
                set(PLACEHOLDER.findall(text))
                - expected
                - set(PLACEHOLDER.findall(entry.msgid_plural))
            ):
                broken.append(entry.msgid)
            if not entry.msgid_plural and set(PLACEHOLDER.findall(text)) != expected:
                broken.append(entry.msgid)
    assert not broken, broken[:5]
