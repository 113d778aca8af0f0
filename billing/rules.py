"""The invoicing rules as pure functions of dates and money (stated in the README)."""

import calendar
import datetime
from collections.abc import Iterable
from decimal import Decimal

from clinic.money import quantize_money

DateRange = tuple[datetime.date, datetime.date]


def money(value: Decimal, currency: str = "") -> Decimal:
    """Rounded half up to the currency's own minor unit (``clinic.money``)."""
    return quantize_money(value, currency)


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def month_end(day: datetime.date) -> datetime.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def previous_month(day: datetime.date) -> datetime.date:
    """The first day of the month before the one ``day`` is in."""
    return month_start(month_start(day) - datetime.timedelta(days=1))


def next_month(day: datetime.date) -> datetime.date:
    return month_end(day) + datetime.timedelta(days=1)


def quarter_start(day: datetime.date) -> datetime.date:
    """The first day of the calendar quarter ``day`` is in."""
    return datetime.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def quarter_end(day: datetime.date) -> datetime.date:
    return month_end(quarter_start(day).replace(month=quarter_start(day).month + 2))


def quarters(start: datetime.date, end: datetime.date) -> list[DateRange]:
    """The calendar quarters from the one ``start`` is in to the one ``end`` is in."""
    spans = []
    quarter = quarter_start(start)
    while quarter <= end:
        spans.append((quarter, quarter_end(quarter)))
        quarter = quarter_end(quarter) + datetime.timedelta(days=1)
    return spans


def days_in(span: DateRange) -> int:
    start, end = span
    return (end - start).days + 1 if end >= start else 0


def clip(start: datetime.date, end: datetime.date | None, within: DateRange) -> DateRange | None:
    """The part of [start, end] (open end when None) inside ``within``, or None."""
    lo = max(start, within[0])
    hi = min(end or within[1], within[1])
    return (lo, hi) if hi >= lo else None


def subtract(span: DateRange, holes: Iterable[DateRange]) -> list[DateRange]:
    """The days of ``span`` not in any of ``holes``, as ordered ranges."""
    pieces = [span]
    for hole_start, hole_end in sorted(holes):
        remaining = []
        for start, end in pieces:
            if hole_end < start or hole_start > end:
                remaining.append((start, end))
                continue
            if hole_start > start:
                remaining.append((start, hole_start - datetime.timedelta(days=1)))
            if hole_end < end:
                remaining.append((hole_end + datetime.timedelta(days=1), end))
        pieces = remaining
    return pieces


def prorate(full_amount: Decimal, days: int, days_in_period: int, currency: str = "") -> Decimal:
    """The full-period amount times days charged over days in the period, rounded per line
    to the currency's smallest unit."""
    if days_in_period <= 0:
        return Decimal("0.00")
    return money(Decimal(full_amount) * days / days_in_period, currency)


def percent_of(amount: Decimal, percent: Decimal, currency: str = "") -> Decimal:
    return money(Decimal(amount) * Decimal(percent) / 100, currency)
