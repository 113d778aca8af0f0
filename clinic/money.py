"""Money: rounding to its currency's own minor unit, and showing it in the active locale.

The minor units come from ISO 4217 (list one, "minor unit" column): two decimals for most
currencies, and the exceptions below. CLDR (through Babel) gives the symbols and the
locale's separators; the ISO table gives the decimals, so that rounding and display agree.
"""

import functools
from copy import copy
from decimal import ROUND_HALF_UP, Decimal

from babel import Locale
from babel.numbers import NumberPattern, parse_pattern
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import get_language, ngettext, to_locale
from django.utils.translation import gettext as _

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


def check_minor_unit(amount: Decimal | None, currency: str) -> None:
    """Refuse (ValidationError) an amount with more decimals than ``currency`` has: a price
    of 10.125 EUR would otherwise be rounded without anyone being told."""
    if amount is None or not currency:
        return
    if quantize_money(amount, currency) != amount:
        decimals = minor_unit(currency)
        raise ValidationError(
            ngettext(
                "Amounts in %(currency)s have at most %(count)d decimal.",
                "Amounts in %(currency)s have at most %(count)d decimals.",
                decimals,
            )
            % {"currency": currency.upper(), "count": decimals}
            if decimals
            else _("Amounts in %(currency)s are whole numbers.") % {"currency": currency.upper()}
        )


def format_money(
    amount: Decimal | int | str | None, currency: str = "", language: str | None = None
) -> str:
    """``amount`` in ``currency`` as the active language (or ``language``) writes it, with
    exactly the currency's decimals: "€1,234.50" in English, "1.234,50 €" in Spanish,
    "KWD 1.234,567" in Dutch. Spaces are non-breaking, so an amount never wraps."""
    if amount is None or amount == "":
        return ""
    currency = (currency or settings.CLINIC_CURRENCY).strip().upper()
    locale, pattern = _money_pattern(language or get_language() or settings.LANGUAGE_CODE, currency)
    text = pattern.apply(
        quantize_money(amount, currency), locale, currency=currency, currency_digits=False
    )
    return text.replace(" ", "\u00a0")


@functools.lru_cache(maxsize=256)
def _money_pattern(language: str, currency: str) -> tuple[Locale, NumberPattern]:
    """The locale and its currency pattern with ``currency``'s decimals: read once per
    language and currency (a report shows hundreds of amounts in one or two of them)."""
    locale = Locale.parse(to_locale(language))
    pattern = copy(parse_pattern(locale.currency_formats["standard"]))
    decimals = minor_unit(currency)
    pattern.frac_prec = (decimals, decimals)
    return locale, pattern


class CurrencyAmountsMixin:
    """For models with money columns and a ``currency`` column: amounts read from the
    database carry the currency's own decimals (10.00 EUR, 10.125 KWD, 1000 JPY).

    The columns keep four decimals so that every currency fits; without this, every amount
    would read back as 10.0000. Services quantize amounts before writing them, so this only
    drops zeros. Only fields loaded with the row are touched, so a deferred currency is not
    fetched.
    """

    MONEY_FIELDS: tuple[str, ...] = ()

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        currency = instance.__dict__.get("currency")
        if currency:
            for name in cls.MONEY_FIELDS:
                value = instance.__dict__.get(name)
                if value is not None:
                    instance.__dict__[name] = quantize_money(value, currency)
        return instance
