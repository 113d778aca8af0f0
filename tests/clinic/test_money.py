"""Money is rounded to its currency's own minor unit, by one helper (issue 9)."""

import datetime
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from billing import rules, services
from billing.models import PaymentMethod
from clinic.money import format_money, minor_unit, quantize_money
from clinic.roles import Role
from members import services as member_services
from tests.billing.helpers import RUN_DAY, contract_invoice
from tests.factories import user_with_role
from tests.members.factories import MemberFactory, ShareClassFactory


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("1234.5", "JPY", "1235"),
        ("1234.49", "jpy", "1234"),
        ("10.005", "EUR", "10.01"),
        ("10.004", "EUR", "10.00"),
        ("1.2345", "KWD", "1.235"),
        ("1.2344", "KWD", "1.234"),
        ("7.125", "", "7.13"),  # no currency: two decimals
        ("-2.5", "JPY", "-3"),  # half away from zero, for refunds and reversals
    ],
)
def test_amounts_are_rounded_half_up_to_the_currencys_minor_unit(amount, currency, expected):
    rounded = quantize_money(Decimal(amount), currency)
    assert rounded == Decimal(expected)
    assert rounded.as_tuple().exponent == Decimal(expected).as_tuple().exponent


def test_minor_units_follow_iso_4217():
    assert [minor_unit(c) for c in ("JPY", "KRW", "EUR", "USD", "KWD", "BHD", "CLF")] == [
        0,
        0,
        2,
        2,
        3,
        3,
        4,
    ]


def test_billing_rules_round_with_the_same_helper():
    assert rules.prorate(Decimal("1000"), 10, 31, "JPY") == Decimal("323")
    assert rules.prorate(Decimal("10.000"), 10, 31, "KWD") == Decimal("3.226")


@pytest.mark.django_db
def test_a_payment_in_yen_is_recorded_in_whole_yen():
    invoice = contract_invoice(rate=Decimal("1000"), contract__currency="JPY")
    payment = services.payment_record(
        invoice=invoice,
        amount=Decimal("100.40"),
        paid_on=RUN_DAY,
        method=PaymentMethod.CASH,
        today=RUN_DAY,
    )
    payment.refresh_from_db()
    assert payment.amount == Decimal("100")


@pytest.mark.django_db
def test_fee_plans_and_share_payments_in_yen_are_whole_yen():
    plan = member_services.fee_plan_save(
        name="Yen tier",
        amount=Decimal("1000.60"),
        currency="JPY",
        period="monthly",
        is_available=True,
    )
    plan.refresh_from_db()
    assert plan.amount == Decimal("1001")
    share_class = ShareClassFactory(name="Yen share", currency="JPY", par_value=Decimal(5000))
    entry = member_services.share_payment(
        member=MemberFactory(),
        share_class=share_class,
        amount=Decimal("4999.5"),
        by=user_with_role(Role.ADMINISTRATOR),
        on=datetime.date(2026, 1, 5),
    )
    entry.refresh_from_db()
    assert entry.amount == Decimal("5000")


@pytest.mark.parametrize(
    ("language", "amount", "currency", "expected"),
    [
        ("en", "675", "EUR", "€675.00"),
        ("en", "1234.5", "EUR", "€1,234.50"),
        ("es", "1234.5", "EUR", "1.234,50\u00a0€"),
        ("pt-br", "45", "BRL", "R$\u00a045,00"),
        ("nl", "3.4567", "KWD", "KWD\u00a03,457"),
        ("en", "1234.4", "JPY", "¥1,234"),
    ],
)
def test_format_money_uses_the_locale_style_and_the_currency_decimals(
    language, amount, currency, expected
):
    assert format_money(amount, currency, language=language) == expected


def test_money_filter_formats_in_the_active_language():
    template = Template("{% load clinic_format %}{{ total|money:'EUR' }}")
    with translation.override("es"):
        assert template.render(Context({"total": Decimal("45")})) == "45,00\u00a0€"
