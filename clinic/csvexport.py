"""CSV exports that a spreadsheet opens as text, never as formulas.

Every CSV the clinic produces is written through ``csv_writer``: a cell that starts with a
character a spreadsheet reads as the start of a formula gets a leading apostrophe, so a
member's name such as ``=HYPERLINK(...)`` stays a name (OWASP "CSV injection").
"""

import csv
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    def __init__(self, stream) -> None:
        self._writer = csv.writer(stream)

    def writerow(self, row: Iterable[Any]):
        return self._writer.writerow([neutralize(value) for value in row])


def csv_writer(stream) -> SafeWriter:
    return SafeWriter(stream)
