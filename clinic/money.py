"""Money: rounding to its currency's own minor unit, and showing it in the active locale.

The minor units come from ISO 4217 (list one, "minor unit" column): two decimals for most
currencies, and the exceptions below. CLDR (through Babel) gives the symbols and the
locale's separators; the ISO table gives the decimals, so that rounding and display agree.
"""

from copy import copy
from decimal import ROUND_HALF_UP, Decimal

from babel import Locale
from babel.numbers import parse_pattern
from django.conf import settings
from django.utils.translation import get_language, to_locale

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


def format_money(
    amount: Decimal | int | str | None, currency: str = "", language: str | None = None
) -> str:
    """``amount`` in ``currency`` as the active language (or ``language``) writes it, with
    exactly the currency's decimals: "€1,234.50" in English, "1.234,50 €" in Spanish,
    "KWD 1.234,567" in Dutch. Spaces are non-breaking, so an amount never wraps."""
    if amount is None or amount == "":
        return ""
    currency = (currency or settings.CLINIC_CURRENCY).strip().upper()
    decimals = minor_unit(currency)
    locale = Locale.parse(to_locale(language or get_language() or settings.LANGUAGE_CODE))
    pattern = copy(parse_pattern(locale.currency_formats["standard"]))
    pattern.frac_prec = (decimals, decimals)
    text = pattern.apply(
        quantize_money(amount, currency), locale, currency=currency, currency_digits=False
    )
    return text.replace(" ", "\u00a0")
