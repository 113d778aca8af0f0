"""Rounding money to its currency's own minor unit: the one helper billing and members use.

Babel is not installed, so the minor units come from ISO 4217 (list one, "minor unit"
column): two decimals for most currencies, and the exceptions below.
"""

from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 currencies whose minor unit is not 2 (current codes, ISO 4217 amendment 176).
MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(
        ["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
         "VND", "VUV", "XAF", "XOF", "XPF"],
        0,
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}  # fmt: skip
DEFAULT_MINOR_UNIT = 2


def minor_unit(currency: str) -> int:
    """The number of decimals of ``currency`` (2 when it is not one of the exceptions)."""
    return MINOR_UNITS.get((currency or "").strip().upper(), DEFAULT_MINOR_UNIT)


def quantize_money(amount: Decimal | int | str, currency: str) -> Decimal:
    """``amount`` rounded half up to the smallest unit of ``currency``: whole yen, cents of
    a euro, fils (thousandths) of a Kuwaiti dinar."""
    step = Decimal(1).scaleb(-minor_unit(currency))
    return Decimal(amount).quantize(step, rounding=ROUND_HALF_UP)
