"""UCUM codes of outcome measures' units, for the FHIR export (``http://unitsofmeasure.org``).

No UCUM parser is installed, so a code is checked for the shape UCUM gives every unit
expression (``kg``, ``m``, ``mm[Hg]``, ``/min``, ``{score}``, ``mmol/mol``, ``10*3/uL``):
printable ASCII with no space, balanced square brackets and parentheses, annotations in
braces, operators between terms. Spellings that look right to people but are not UCUM
(``mmHg``, ``bpm``, ``score``) are refused with the UCUM form to use instead.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

UCUM_SYSTEM = "http://unitsofmeasure.org"

# Everyday spellings of units and their UCUM code: refused as codes, offered as the
# code when a measure's unit is written this way and no code is given.
UCUM_FOR_UNIT = {
    "mmHg": "mm[Hg]",
    "bpm": "/min",
    "beats/min": "/min",
    "/min": "/min",
    "score": "{score}",
    "points": "{score}",
    "0-10": "{score}",
    "kg": "kg",
    "g": "g",
    "m": "m",
    "cm": "cm",
    "km": "km",
    "%": "%",
    "mmol/mol": "mmol/mol",
    "mmol/L": "mmol/L",
    "mg/dL": "mg/dL",
    "kg/m2": "kg/m2",
    "kg/m²": "kg/m2",
    "s": "s",
    "sec": "s",
    "min": "min",
    "h": "h",
    "hr": "h",
    "lbs": "[lb_av]",
    "lb": "[lb_av]",
    "steps": "{steps}",
}
NOT_UCUM = {spelling: code for spelling, code in UCUM_FOR_UNIT.items() if spelling != code} | {
    "°C": "Cel",
    "degC": "Cel",
}

_ANNOTATION = re.compile(r"\{[!-z|~]*\}")  # printable ASCII but braces
_BRACKETED = re.compile(r"\[[!-Z\\^-z|~]+\]")  # printable ASCII but square brackets, braces
_TERM = re.compile(r"[A-Za-z0-9%'*+\-_.()/]*")


def ucum_code_for(unit: str) -> str:
    """The UCUM code of an everyday unit spelling, or "" when it is not a known one."""
    return UCUM_FOR_UNIT.get(unit.strip(), "")


def validate_ucum_code(code: str) -> None:
    """Refuse a code that is not a UCUM expression (empty is allowed: no UCUM unit)."""
    if not code:
        return
    if code in NOT_UCUM:
        raise ValidationError(
            _("“%(code)s” is not UCUM; write %(ucum)s.") % {"code": code, "ucum": NOT_UCUM[code]}
        )
    if any(ord(c) < 33 or ord(c) > 126 for c in code):
        raise ValidationError(_("A UCUM code is written in plain ASCII with no spaces."))
    # Annotations, then bracketed atoms, may hold characters the rest may not.
    rest = _BRACKETED.sub("X", _ANNOTATION.sub("1", code))
    if not _TERM.fullmatch(rest) or rest.count("(") != rest.count(")"):
        raise ValidationError(_("“%(code)s” is not a UCUM expression.") % {"code": code})
    depth = 0
    for char in rest:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            raise ValidationError(_("“%(code)s” is not a UCUM expression.") % {"code": code})
    if re.search(r"[./][./)]|\([./)]|[.]$|/$|^\.", rest) or rest.startswith(("*", "+", "-")):
        raise ValidationError(_("“%(code)s” is not a UCUM expression.") % {"code": code})
