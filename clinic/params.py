"""Whole numbers from untrusted text (query strings, CSV cells): None for anything else.

``int()`` alone accepts signs, spaces, underscores and non-ASCII digits, and a number larger
than the database column holds makes the query fail (a 500) instead of finding nothing.
"""

MAX_BIGINT = 2**63 - 1
MAX_INT = 2**31 - 1  # IntegerField / PositiveIntegerField columns


def id_param(value: str | None, *, max_value: int = MAX_BIGINT) -> int | None:
    """A positive whole number in ASCII digits up to ``max_value``, or None."""
    value = (value or "").strip()
    if not value.isascii() or not value.isdigit() or len(value) > len(str(max_value)):
        return None
    number = int(value)
    return number if 0 < number <= max_value else None
