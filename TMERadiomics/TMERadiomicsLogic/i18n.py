"""``_()`` for the Logic's messages: Slicer's translation where it runs, the English text elsewhere.

The Logic's reasons and errors ("Select a DCE volume.", "phase 7 does not
exist ...") reach the user in the panel, so they are translated like the
panel's own text. Slicer's ``slicer.i18n.tr`` names the translation context
after the file that calls it (``TMERadiomicsLogic.logic`` for logic.py, as
``lupdate`` does); called through a wrapper it would name the wrapper, so
``tr`` here looks one frame further up and asks ``slicer.i18n.translate``
with that file's context. On slicer-core, which has no ``slicer.i18n``, the
text comes back unchanged.

Messages with values are written as ``_("... {name} ...").format(name=...)``:
the translator sees the placeholders, and a translation that drops or renames
one is ignored (Slicer's rule), so ``format`` can never fail on it.
"""

from __future__ import annotations

import re
import sys

_PLACEHOLDER = re.compile(r"(?<!\{)\{([^{}]+)\}(?!\})")


def _slicer_i18n():
    try:
        from slicer import i18n
    except ImportError:  # slicer-core, or the library's own tests: no application to translate
        return None
    return i18n


def tr(text: str) -> str:
    """``text`` in the application's language, in the calling file's translation context."""
    i18n = _slicer_i18n()
    if i18n is None:
        return text
    caller = sys._getframe(1).f_code.co_filename  # the file calling _(), as slicer.i18n.tr finds it
    translated = i18n.translate(i18n.getContext(caller), text)
    if set(_PLACEHOLDER.findall(text)) != set(_PLACEHOLDER.findall(translated)):
        return text  # a translation whose placeholders differ would break format(); keep the English
    return translated
