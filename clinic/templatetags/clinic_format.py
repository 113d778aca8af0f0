"""Formatting shared by every app's templates: ``{% load clinic_format %}``."""

from decimal import Decimal

from django import template

from clinic.money import format_money

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str = "") -> str:
    """``{{ invoice.total|money:invoice.currency }}``: the amount in the active locale's
    style with the currency's own decimals (the clinic's currency when none is given)."""
    return format_money(amount, currency)
