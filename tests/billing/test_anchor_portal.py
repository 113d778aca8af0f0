"""The anchor contact's portal: the value report and its PDF for their own contracts, the
roster of covered people, what is owed and how to pay, and the headcount chart."""

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from arcs.models import AccessLogEntry
from billing import rules, services
from billing.models import PaymentMethod
from clinic.roles import Role
from tests.arcs.factories import ArcFactory, GoalFactory
from tests.billing.factories import ContractFactory, EnrolmentFactory
from tests.factories import user_with_role
from tests.pdf import pdf_text

pytestmark = pytest.mark.django_db

D = datetime.date
MARCH, RUN_DAY = D(2026, 3, 1), D(2026, 4, 1)


@pytest.fixture
def contract():
    contract = ContractFactory(
        reference="C-RIVER", rate_per_member_month=Decimal("40.00"), start_date=D(2025, 10, 1)
    )
    for first in ("Ada", "Bram", "Chen"):
        EnrolmentFactory(
            contract=contract, member__user__first_name=first, covered_from=D(2025, 10, 1)
        )
    return contract


def contact_of(contract):
    contact = user_with_role(Role.ANCHOR_CONTACT)
    contract.anchor.contacts.add(contact)
    return contact


def test_the_contact_reads_the_value_report_and_its_pdf_of_their_own_contract(client, contract):
    services.invoice_run(period=MARCH, today=RUN_DAY, contract_ids=[contract.pk])
    client.force_login(contact_of(contract))
    url = reverse("billing:value_report", args=[contract.pk])
    page = client.get(url, {"start": "2026-01", "end": "2026-03"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "C-RIVER" in html and "120.00" in html
    pdf_url = reverse("billing:value_report_pdf", args=[contract.pk])
    assert f"{pdf_url}?start=2026-01&amp;end=2026-03" in html
    response = client.get(pdf_url, {"start": "2026-01", "end": "2026-03"})
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "Anchor value report" in text and "C-RIVER" in text
    assert "January 2026" in text and "March 2026" in text and "120.00" in text
    assert "fewer than 5 (withheld)" in text


@pytest.mark.parametrize(
    "name",
    ["billing:value_report", "billing:value_report_pdf", "billing:anchor_roster"],
)
def test_another_anchors_contact_gets_404_and_the_guess_is_logged(client, contract, name):
    other = ContractFactory()
    client.force_login(contact_of(other))
    assert client.get(reverse(name, args=[contract.pk])).status_code == 404
    assert AccessLogEntry.objects.filter(action="denied", record_id=contract.pk).exists()


def test_the_office_still_reads_every_value_report(client, contract):
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    assert client.get(reverse("billing:value_report", args=[contract.pk])).status_code == 200
    pdf = client.get(reverse("billing:value_report_pdf", args=[contract.pk]))
    assert pdf.status_code == 200 and "C-RIVER" in pdf_text(pdf.content)


def test_members_and_clinicians_cannot_read_value_reports_or_rosters(client, contract):
    member = contract.enrolments.first().member
    client.force_login(member.user)
    for name in ("billing:value_report", "billing:value_report_pdf", "billing:anchor_roster"):
        assert client.get(reverse(name, args=[contract.pk])).status_code == 403


def test_roster_lists_names_and_cover_dates_only(client, contract):
    enrolment = contract.enrolments.select_related("member__user").first()
    ArcFactory(member=enrolment.member, title="Knee rehabilitation")
    GoalFactory(arc=enrolment.member.arcs.get(), description="Pain down to 2")
    client.force_login(contact_of(contract))
    html = client.get(reverse("billing:anchor_roster", args=[contract.pk])).content.decode()
    for other in contract.enrolments.select_related("member__user"):
        assert other.member.full_name in html
    assert "1 Oct 2025" in html and "ongoing" in html
    assert "Knee rehabilitation" not in html and "Pain down to 2" not in html
    assert enrolment.member.user.email not in html


def test_roster_is_paginated_in_a_fixed_number_of_queries(
    client, contract, django_assert_max_num_queries
):
    client.force_login(contact_of(contract))
    url = reverse("billing:anchor_roster", args=[contract.pk])
    client.get(url)
    with django_assert_max_num_queries(20) as small:
        client.get(url)
    EnrolmentFactory.create_batch(30, contract=contract)
    with django_assert_max_num_queries(len(small.captured_queries)):
        page = client.get(url).content.decode()
    assert "Page 1 of 2" in page


def test_contract_page_shows_the_balance_the_overdue_invoices_and_how_to_pay(
    client, contract, settings
):
    settings.CLINIC_PAYMENT_INSTRUCTIONS = "Pay to IBAN NL00 TEST 0000 0000 00, quoting the number."
    services.invoice_run(period=MARCH, today=RUN_DAY, contract_ids=[contract.pk])
    invoice = contract.invoices.get()
    services.payment_record(
        invoice=invoice,
        amount=Decimal("20.00"),
        paid_on=RUN_DAY,
        method=PaymentMethod.BANK_TRANSFER,
    )
    client.force_login(contact_of(contract))
    html = client.get(reverse("billing:anchor_contract", args=[contract.pk])).content.decode()
    # 3 people x 40.00, less 20.00 paid; due 30 days after 1 April, long past today.
    assert "100.00" in html.split('id="outstanding-balance"')[1].split("</p>")[0]
    overdue = html.split('id="overdue-invoices"')[1].split("</table>")[0]
    assert invoice.number in overdue
    assert "1 invoice is overdue." in html
    assert "Pay to IBAN NL00 TEST 0000 0000 00" in html


def test_a_contract_with_nothing_owed_says_so(client, contract):
    client.force_login(contact_of(contract))
    html = client.get(reverse("billing:anchor_contract", args=[contract.pk])).content.decode()
    assert "Nothing is owed on this contract." in html
    assert 'id="overdue-invoices"' not in html


def test_headcount_is_a_chart_with_a_table_alternative(client, contract):
    this_month = rules.month_start(timezone.localdate())
    last_month = rules.month_start(this_month - datetime.timedelta(days=1))
    EnrolmentFactory(contract=contract, covered_from=this_month)
    client.force_login(contact_of(contract))
    html = client.get(reverse("billing:anchor_contract", args=[contract.pk])).content.decode()
    chart = html.split("<svg")[1].split("</svg>")[0]
    assert 'role="img"' in html.split("<svg")[1].split(">")[0]
    assert "<title id=" in chart and "<desc id=" in chart
    assert f"{last_month:%B %Y}: 3 people covered" in chart
    assert f"{this_month:%B %Y}: 4 people covered" in chart
    # Round ticks: 0 to 4 in steps of 1.
    assert [int(v) for v in re.findall(r'text-anchor="end"[^>]*>(\d+)<', chart)] == [0, 1, 2, 3, 4]
    table = html.split("People covered per month</caption>")[1].split("</table>")[0]
    assert f"{last_month:%B %Y}" in table and f"{this_month:%B %Y}" in table


def test_contract_page_takes_a_fixed_number_of_queries(
    client, contract, django_assert_max_num_queries
):
    services.invoice_run(period=MARCH, today=RUN_DAY, contract_ids=[contract.pk])
    client.force_login(contact_of(contract))
    url = reverse("billing:anchor_contract", args=[contract.pk])
    client.get(url)
    with django_assert_max_num_queries(30) as small:
        client.get(url)
    EnrolmentFactory.create_batch(20, contract=contract)
    services.invoice_run(period=D(2026, 4, 1), today=D(2026, 5, 1), contract_ids=[contract.pk])
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(url)


def test_chart_ticks_are_round_values_whatever_the_headcount():
    from billing.charts import headcount_chart

    months = [
        (D(2026, m, 1), count) for m, count in zip(range(1, 13), [0, 37, 137] * 4, strict=True)
    ]
    chart = headcount_chart(months, chart_id="c")
    assert [tick["value"] for tick in chart["ticks"]] == [0, 50, 100, 150]
    assert headcount_chart([], chart_id="c")["columns"] == []
