import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from arcs.models import ArcStatus
from billing import selectors, services
from billing.models import PaymentMethod
from clinic.roles import Role
from tests.arcs.factories import ArcFactory
from tests.billing.factories import ContractFactory, EnrolmentFactory
from tests.billing.helpers import RUN_DAY, contract_invoice, member_invoice
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture
def admin_client(client):
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    return client


def test_aging_buckets_follow_days_past_due():
    assert [selectors.aging_bucket(d) for d in (-3, 0, 1, 30, 31, 60, 61, 90, 91)] == [
        "current",
        "current",
        "1-30",
        "1-30",
        "31-60",
        "31-60",
        "61-90",
        "61-90",
        "90+",
    ]


def test_aging_report_sums_unpaid_balances_per_bucket():
    first, second, paid = contract_invoice(), contract_invoice(), contract_invoice()
    services.payment_record(
        invoice=first, amount=Decimal(40), paid_on=D(2026, 4, 2), method=PaymentMethod.CASH
    )
    services.payment_record(
        invoice=paid, amount=Decimal(100), paid_on=D(2026, 4, 2), method=PaymentMethod.CASH
    )
    report = selectors.aging_report(on=first.due_date + datetime.timedelta(days=45))
    assert report.totals["EUR"]["31-60"] == Decimal("160.00")
    assert report.totals["EUR"]["total"] == Decimal("160.00")
    assert {invoice.pk for invoice in report.invoices} == {first.pk, second.pk}
    # One row per payer (each invoice is to its own contract), net of what was paid.
    rows = {row["contract_id"]: row for row in report.rows(report.payers)}
    assert set(rows) == {first.contract_id, second.contract_id}
    assert rows[first.contract_id]["buckets"]["31-60"] == Decimal("60.00")
    assert rows[first.contract_id]["total"] == Decimal("60.00")
    assert rows[second.contract_id]["total"] == Decimal("100.00")


def test_aging_report_counts_payers_per_currency_and_pages_them(admin_client):
    euro = [contract_invoice() for _ in range(3)]
    dollars = contract_invoice(contract__currency="USD")
    member = member_invoice()
    report = selectors.aging_report(on=RUN_DAY)
    assert report.payers.count() == 5
    assert report.payers.count() == report.payers.query_set.count()
    rows = report.rows(report.payers)
    assert [row["name"] for row in rows] == sorted(row["name"] for row in rows)
    by_currency = {(row["currency"], row["contract_id"] or row["member_id"]) for row in rows}
    assert ("USD", dollars.contract_id) in by_currency
    assert ("EUR", member.member_id) in by_currency
    assert all(row["invoice_count"] == 1 for row in rows)
    assert report.totals["USD"]["total"] == dollars.total
    assert report.totals["EUR"]["total"] == sum((i.total for i in euro), member.total)
    # Pages of two: every payer once, and the page's count says five.
    pages = [report.rows(report.payers[start : start + 2]) for start in (0, 2, 4)]
    assert sorted(row["name"] for page in pages for row in page) == sorted(
        row["name"] for row in rows
    )
    response = admin_client.get(reverse("billing:aging_report"))
    assert response.context["payers"].paginator.count == 5


def test_aging_payer_settled_after_the_page_was_read_is_left_out():
    first, second = contract_invoice(), contract_invoice()
    report = selectors.aging_report(on=RUN_DAY)
    page = list(report.payers[:10])
    services.payment_record(
        invoice=first, amount=first.total, paid_on=RUN_DAY, method=PaymentMethod.CASH
    )
    assert [row["contract_id"] for row in report.rows(page)] == [second.contract_id]


def test_aging_report_page_and_csv(admin_client):
    invoice = contract_invoice()
    page = admin_client.get(reverse("billing:aging_report")).content.decode()
    assert invoice.bill_to_name in page
    response = admin_client.get(reverse("billing:aging_report_csv"))
    assert response["Content-Type"].startswith("text/csv")
    content = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0][:2] == ["invoice", "bill_to"]
    assert rows[1][0] == invoice.number
    assert rows[1][6] == "100.00"


def test_federation_statement_is_the_percentage_of_revenue_collected(admin_client, settings):
    settings.CLINIC_FEDERATION_PERCENT = Decimal("2.50")
    invoice = contract_invoice(rate=Decimal("333.33"))
    services.payment_record(
        invoice=invoice, amount=Decimal("200.00"), paid_on=D(2026, 4, 3), method="cash"
    )
    services.payment_record(
        invoice=invoice, amount=Decimal("133.33"), paid_on=D(2026, 4, 30), method="cash"
    )
    other = contract_invoice()
    services.payment_record(
        invoice=other, amount=Decimal(100), paid_on=D(2026, 5, 1), method="cash"
    )
    statement = selectors.federation_statement(month=D(2026, 4, 1))
    assert statement.lines == [("EUR", Decimal("333.33"), Decimal("8.33"))]
    page = admin_client.get(reverse("billing:federation_statement"), {"month": "2026-04"})
    assert "333.33" in page.content.decode()
    assert "8.33" in page.content.decode()


def test_anchor_value_report_with_small_counts_suppressed(admin_client):
    contract = ContractFactory(
        rate_per_member_month=Decimal("40.00"),
        anchor__previous_spend_per_person_month=Decimal("70.00"),
    )
    enrolments = [EnrolmentFactory(contract=contract) for _ in range(6)]
    services.invoice_run(period=D(2026, 3, 1), today=D(2026, 4, 1), contract_ids=[contract.pk])
    # Six covered people with an active arc; two of them achieved in March.
    for enrolment in enrolments:
        ArcFactory(member=enrolment.member, activated_on=D(2026, 1, 1))
    for enrolment in enrolments[:2]:
        ArcFactory(
            member=enrolment.member,
            activated_on=D(2026, 1, 1),
            status=ArcStatus.ACHIEVED,
            closed_on=D(2026, 3, 20),
        )
    ArcFactory(activated_on=D(2026, 1, 1))  # someone not covered: not counted
    report = selectors.anchor_value_report(
        contract=contract, start=D(2026, 3, 1), end=D(2026, 3, 1)
    )
    assert report.headcount == 6
    assert report.total_billed == Decimal("240.00")
    assert report.previous_spend == Decimal("420.00")
    assert report.difference == Decimal("180.00")
    assert [(q.start, q.active_arcs, q.achieved_arcs) for q in report.quarters] == [
        (D(2026, 1, 1), 8, None)  # 2 achieved < 5: withheld
    ]
    page = admin_client.get(
        reverse("billing:value_report", args=[contract.pk]), {"start": "2026-01", "end": "2026-03"}
    ).content.decode()
    assert "fewer than 5 (withheld)" in page
    assert enrolments[0].member.full_name not in page


def test_value_report_refuses_a_reversed_range(admin_client):
    contract = ContractFactory()
    page = admin_client.get(
        reverse("billing:value_report", args=[contract.pk]), {"start": "2026-04", "end": "2026-03"}
    ).content.decode()
    assert "before the first" in page


def test_value_report_cannot_be_differenced_across_windows(admin_client):
    """Ten covered people with an arc all year, and one whose only arc ran in January.
    The window January-March would count 11 active arcs and February-March 10: their
    difference names the January patient. Counts are per fixed quarter, so every window
    over the quarter reports the same cell, and a window that is not whole quarters is a
    field error."""
    contract = ContractFactory(start_date=D(2025, 1, 1))
    enrolments = [
        EnrolmentFactory(contract=contract, covered_from=D(2025, 1, 1)) for _ in range(11)
    ]
    for enrolment in enrolments[:10]:
        ArcFactory(member=enrolment.member, activated_on=D(2025, 12, 1))
    ArcFactory(
        member=enrolments[10].member,
        activated_on=D(2026, 1, 5),
        status=ArcStatus.DISCONTINUED,
        discontinued_reason="Moved away.",
        closed_on=D(2026, 1, 20),
    )
    cells = set()
    for start, end in [
        (D(2026, 1, 1), D(2026, 3, 1)),
        (D(2026, 2, 1), D(2026, 3, 1)),
        (D(2026, 3, 1), D(2026, 3, 1)),
        (D(2026, 1, 1), D(2026, 1, 1)),
        (D(2025, 10, 1), D(2026, 3, 1)),
        (D(2026, 1, 1), D(2026, 6, 1)),
    ]:
        report = selectors.anchor_value_report(contract=contract, start=start, end=end)
        cells |= {(q.start, q.active_arcs) for q in report.quarters}
    assert cells == {(D(2025, 10, 1), 10), (D(2026, 1, 1), 11), (D(2026, 4, 1), 10)}
    url = reverse("billing:value_report", args=[contract.pk])
    page = admin_client.get(url, {"start": "2026-02", "end": "2026-03"})
    assert page.status_code == 200
    assert "first month of a quarter" in page.content.decode()
    page = admin_client.get(url, {"start": "2026-01", "end": "2026-02"})
    assert "last month of a quarter" in page.content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {"start": "0001-01", "end": "9999-12"},
        {"start": "9999-10", "end": "9999-12"},
        {"start": "0001-01", "end": "0001-03"},
        {"start": "1900-01", "end": "2999-12"},
    ],
)
def test_value_report_out_of_range_months_are_a_field_error(admin_client, params):
    contract = ContractFactory()
    page = admin_client.get(reverse("billing:value_report", args=[contract.pk]), params)
    assert page.status_code == 200
    assert page.context["form"].errors
