"""The invoice list, contract pages and aging report are paginated and cost the same
number of queries at 10 and at 60 members (bench clinic: 108 and 588 invoices)."""

import csv
import io
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from bench import seed
from billing import selectors
from billing.models import Invoice, InvoiceStatus
from clinic.money import format_money

pytestmark = pytest.mark.django_db

MAX_QUERIES = 10
SIZES = (10, 60)


def _client(user_id: int) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.get(pk=user_id))
    return client


@pytest.fixture(params=SIZES, ids=lambda n: f"{n}-members")
def clinic(request) -> seed.Clinic:
    return seed.build(size=request.param)


@pytest.mark.parametrize(
    "name",
    ["billing:invoice_list", "billing:aging_report", "billing:contract_detail"],
)
def test_admin_billing_pages_cost_the_same_queries_at_any_size(
    clinic, name, django_assert_max_num_queries
):
    client = _client(clinic.admin_id)
    args = [clinic.contract_id] if name == "billing:contract_detail" else []
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(reverse(name, args=args))
    assert response.status_code == 200


def test_anchor_contract_page_costs_the_same_queries_at_any_size(
    clinic, django_assert_max_num_queries
):
    client = _client(clinic.anchor_contact_id)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(reverse("billing:anchor_contract", args=[clinic.contract_id]))
    assert response.status_code == 200
    # Every month of the contract is counted in the database: a fifth of the members.
    assert [count for _month, count in response.context["headcount"]][:12] == [
        len(clinic.covered_ids)
    ] * 12


def test_list_pages_show_one_page_of_rows(clinic):
    admin = _client(clinic.admin_id)
    invoices = admin.get(reverse("billing:invoice_list")).context["invoices"]
    assert len(invoices.object_list) == min(25, Invoice.objects.count())
    enrolments = admin.get(reverse("billing:contract_detail", args=[clinic.contract_id]))
    assert len(enrolments.context["enrolments"].object_list) == min(25, len(clinic.covered_ids))


def test_aging_report_is_grouped_by_payer_with_a_total_row_and_a_full_csv():
    clinic = seed.build(size=60)
    client = _client(clinic.admin_id)
    unpaid = Invoice.objects.filter(status__in=[InvoiceStatus.ISSUED, InvoiceStatus.OVERDUE])
    payers = {(i.contract_id, i.member_id) for i in unpaid}
    assert len(payers) > 25
    response = client.get(reverse("billing:aging_report"))
    page = response.context["payers"]
    assert page.paginator.count == len(payers)
    assert len(response.context["rows"]) == 25
    # The total row covers every payer, not just the page shown.
    total = sum((i.total for i in unpaid), Decimal(0))
    assert response.context["report"].totals["EUR"]["total"] == total
    assert format_money(total, "EUR") in response.content.decode()
    last = client.get(reverse("billing:aging_report"), {"page": page.paginator.num_pages})
    shown = sum(len(client.get(reverse("billing:aging_report"), {"page": n}).context["rows"])
                for n in page.paginator.page_range)  # fmt: skip
    assert shown == len(payers)
    assert last.status_code == 200
    # The CSV has every unpaid invoice, one per line.
    csv_response = client.get(reverse("billing:aging_report_csv"))
    rows = list(csv.reader(io.StringIO(b"".join(csv_response.streaming_content).decode())))
    assert sorted(r[0] for r in rows[1:]) == sorted(i.number for i in unpaid)
    assert sum(Decimal(r[6]) for r in rows[1:]) == total


def test_aging_payer_row_is_net_of_partial_payments():
    from billing import services
    from billing.models import PaymentMethod

    clinic = seed.build(size=10)
    invoice = Invoice.objects.filter(status=InvoiceStatus.ISSUED, member__isnull=False).first()
    services.payment_record(
        invoice=invoice,
        amount=Decimal("5.00"),
        paid_on=clinic.today,
        method=PaymentMethod.CASH,
    )
    report = selectors.aging_report(on=clinic.today)
    (row,) = [r for r in report.rows(report.payers) if r["member_id"] == invoice.member_id]
    assert row["total"] == invoice.total - Decimal("5.00")
    csv_balance = report.invoices.get(pk=invoice.pk).balance
    assert csv_balance == invoice.total - Decimal("5.00")
