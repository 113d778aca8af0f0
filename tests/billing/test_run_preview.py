"""The "Run invoicing" page: a preview drafted by the worker, a confirm step, the progress."""

import datetime
import re
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.urls import reverse
from django.utils.html import escape

from billing import selectors, services
from billing.models import (
    ContractStatus,
    Invoice,
    InvoiceLine,
    InvoiceRun,
    InvoiceRunPreview,
    PreviewStatus,
    RunStatus,
)
from clinic.roles import Role
from members import services as member_services
from tests.billing.factories import (
    ContractFactory,
    EnrolmentFactory,
    FeePlanAssignmentFactory,
    FeePlanFactory,
)
from tests.factories import user_with_role
from tests.members.factories import MemberFactory
from tests.reauth import reauthenticate

pytestmark = pytest.mark.django_db

D = datetime.date
MARCH = D(2026, 3, 1)
RUN_DAY = D(2026, 4, 1)


@pytest.fixture
def admin(client):
    user = user_with_role(Role.ADMINISTRATOR)
    client.force_login(user)
    return user


def mixed_clinic() -> dict:
    """Anchors in two currencies with part-month covers, members on fee plans in two
    currencies, a member covered for half the month, a member who ceased mid-month, one
    whose plans change currency mid-month (held), and March already invoiced for one."""
    eur = ContractFactory(rate_per_member_month=Decimal("45.00"))
    usd = ContractFactory(rate_per_member_month=Decimal("99.99"), currency="USD")
    EnrolmentFactory(contract=eur)
    EnrolmentFactory(contract=eur, covered_from=D(2026, 3, 16))  # 16 of 31 days
    EnrolmentFactory(contract=usd, covered_from=D(2025, 1, 1), covered_to=D(2026, 3, 10))
    plan_eur = FeePlanFactory(amount=Decimal("20.00"))
    plan_usd = FeePlanFactory(amount=Decimal("33.33"), currency="USD")
    for _ in range(3):
        FeePlanAssignmentFactory(plan=plan_eur)
    FeePlanAssignmentFactory(plan=plan_usd)
    # On the plan, and covered by the euro anchor from the 21st: billed 20 days to each.
    half = FeePlanAssignmentFactory(plan=plan_eur).member
    EnrolmentFactory(contract=eur, member=half, covered_from=D(2026, 3, 21))
    ceased = FeePlanAssignmentFactory(plan=plan_eur).member
    EnrolmentFactory(contract=usd, member=ceased, covered_from=D(2026, 3, 1))
    member_services.member_cease(
        member=ceased, to_status="withdrawn", by=None, reason="Moved away", on=D(2026, 3, 12)
    )
    mixed = MemberFactory()
    FeePlanAssignmentFactory(member=mixed, plan=plan_eur, valid_to=D(2026, 3, 15))
    FeePlanAssignmentFactory(member=mixed, plan=plan_usd, valid_from=D(2026, 3, 16))
    # Already invoiced for March: counted as such, not again.
    done = EnrolmentFactory(contract__rate_per_member_month=Decimal("10.00")).contract
    services.invoice_run(period=MARCH, today=RUN_DAY, contract_ids=[done.pk], include_members=False)
    ContractFactory(status=ContractStatus.DRAFT)  # drafts are never invoiced
    return {"mixed": mixed, "ceased": ceased, "done": done}


def prepared_preview(**kwargs) -> InvoiceRunPreview:
    preview = services.invoice_run_preview_request(period=MARCH, **kwargs)
    return services.invoice_run_preview_prepare(preview_id=preview.pk, today=RUN_DAY)


def test_the_preview_totals_are_what_the_run_then_issues():
    clinic = mixed_clinic()
    before = set(Invoice.objects.values_list("pk", flat=True))
    preview = prepared_preview()
    summary = selectors.run_preview_summary(preview)

    run = services.invoice_run_start(preview=preview)
    run = services.invoice_run_execute(run_id=run.pk, today=RUN_DAY)
    issued = Invoice.objects.exclude(pk__in=before)
    totals = {
        row["currency"]: row["total"]
        for row in issued.order_by().values("currency").annotate(total=Sum("total"))
    }
    by_kind: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for invoice in issued:
        kind = "contract" if invoice.contract_id else "member"
        by_kind[invoice.currency][kind] = by_kind[invoice.currency].get(kind, 0) + invoice.total
    assert summary.totals_by_currency == totals
    assert set(totals) == {"EUR", "USD"}
    for currency, kinds in summary.totals_by_kind.items():
        assert {k: v for k, v in kinds.items() if k != "total"} == by_kind[currency]
    assert summary.invoice_count == issued.count() == run.issued == run.expected
    assert summary.contract_count == issued.filter(contract__isnull=False).count() == 2
    assert summary.member_count == issued.filter(member__isnull=False).count() == 5
    # The previewed invoice of each payer is the one issued to it, to the cent.
    previewed = {
        (item.contract_id, item.member_id): item.total for item in preview.items.filter(held=False)
    }
    assert previewed == {(i.contract_id, i.member_id): i.total for i in issued}
    # The member with plans in two currencies is held in both, with the same reason.
    held = preview.items.get(held=True)
    assert held.member_id == clinic["mixed"].pk
    assert run.problems == [held.problem] and "two currencies" in held.problem
    assert not issued.filter(member=clinic["mixed"]).exists()
    assert preview.already_invoiced == run.already_invoiced == 1
    # The member who ceased on the 12th is billed to the anchor up to that day, and no fee.
    ceased_line = InvoiceLine.objects.get(invoice__in=issued, member=clinic["ceased"])
    assert (ceased_line.end, ceased_line.invoice.currency) == (D(2026, 3, 12), "USD")
    assert not issued.filter(member=clinic["ceased"]).exists()
    assert run.status == RunStatus.FINISHED and run.batches_done == run.batches_total == 1


def test_the_preview_lists_held_invoices_first_then_anchors_then_members(admin, client):
    clinic = mixed_clinic()
    preview = prepared_preview()
    page = client.get(reverse("billing:run_preview", args=[preview.pk])).content.decode()
    rows = re.findall(
        r'<tr( class="table-warning")?><th scope="row">([^<]+)</th><td>(\w+)</td>', page
    )
    assert rows[0][0] and rows[0][1] == escape(clinic["mixed"].full_name)
    assert [kind for _w, _n, kind in rows[1:]] == ["Anchor"] * 2 + ["Member"] * 5
    assert "7 invoices to issue (2 to anchors, 5 to members)" in page
    assert "1 already invoiced for this period" in page
    assert "1 invoice is held back" in page
    assert "They go to 7 payers" in page


def test_the_page_drafts_in_the_worker_then_confirms_and_shows_the_progress(
    admin, client, django_capture_on_commit_callbacks
):
    EnrolmentFactory(contract__rate_per_member_month=Decimal("45.00"))
    FeePlanAssignmentFactory(plan__amount=Decimal("20.00"))
    url = reverse("billing:run_invoicing")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(url, {"period": "2026-03", "include_members": "on"})
    preview = InvoiceRunPreview.objects.get()
    assert response.url == reverse("billing:run_preview", args=[preview.pk])
    # Until the worker has drafted it, the page says so and polls (or reloads) itself.
    page = client.get(response.url).content.decode()
    assert "being prepared" in page and 'hx-trigger="every 2s"' in page
    assert '<meta http-equiv="refresh"' in page
    for callback in queued:
        callback()  # the worker's task (eager)
    page = client.get(response.url).content.decode()
    assert "2 invoices to issue (1 to anchors, 1 to members)" in page
    assert "This will issue 2 invoices totalling €65.00." in page
    assert "hx-trigger" not in page
    # The panel htmx polls for comes back ready, with the confirm step, and stops polling.
    panel = client.get(response.url, HTTP_HX_REQUEST="true").content.decode()
    assert panel.strip().startswith('<section id="run-preview"') and "<html" not in panel
    assert "Issue these invoices" in panel and "hx-trigger" not in panel
    assert not Invoice.objects.exists()

    # Starting the run asks for the password again; the preview alone never does.
    reauthenticate(client)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(reverse("billing:run_preview", args=[preview.pk]), {"confirm": "1"})
    run = InvoiceRun.objects.get()
    assert response.url == reverse("billing:run_progress", args=[run.pk])
    page = client.get(response.url).content.decode()
    assert "Queued" in page and 'hx-trigger="every 2s"' in page
    fragment = client.get(response.url, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.strip().startswith('<section id="run-progress"')
    # A second click while it is queued starts no second run.
    assert client.post(reverse("billing:run_preview", args=[preview.pk]), {"confirm": "1"}).url == (
        response.url
    )
    with django_capture_on_commit_callbacks(execute=True):
        for callback in queued:
            callback()
    page = client.get(response.url).content.decode()
    assert "2 of 2" in page and "1 of 1" in page
    assert "2 invoices issued" in page and "hx-trigger" not in page
    result = reverse("billing:invoice_list") + "?month=2026-03"
    assert f'href="{result}"' in page
    listing = client.get(result).content.decode()
    assert "Invoices for March 2026" in listing
    assert all(invoice.number in listing for invoice in Invoice.objects.all())
    assert Invoice.objects.count() == 2 and all(i.pdf for i in Invoice.objects.all())


def test_a_second_start_of_the_same_period_while_one_is_unfinished_gets_that_run():
    FeePlanAssignmentFactory()
    preview = prepared_preview()
    first = services.invoice_run_start(preview=preview)
    second = services.invoice_run_start(preview=prepared_preview())
    assert first.pk == second.pk and InvoiceRun.objects.count() == 1
    services.invoice_run_execute(run_id=first.pk, today=RUN_DAY)
    # Once it is finished, the period can be run again (it issues only what is missing).
    again = services.invoice_run_start(preview=prepared_preview())
    assert again.pk != first.pk
    assert services.invoice_run_execute(run_id=again.pk, today=RUN_DAY).issued == 0


def test_a_preview_not_yet_prepared_cannot_be_started(admin, client):
    preview = services.invoice_run_preview_request(period=MARCH)
    assert preview.status == PreviewStatus.QUEUED
    reauthenticate(client)
    response = client.post(reverse("billing:run_preview", args=[preview.pk]), {"confirm": "1"})
    assert response.url == reverse("billing:run_preview", args=[preview.pk])
    assert not InvoiceRun.objects.exists()


def test_preparing_a_preview_twice_stores_its_invoices_once():
    for _ in range(3):
        FeePlanAssignmentFactory()
    preview = prepared_preview()
    InvoiceRunPreview.objects.filter(pk=preview.pk).update(status=PreviewStatus.QUEUED)
    services.invoice_run_preview_prepare(preview_id=preview.pk, today=RUN_DAY)
    assert preview.items.count() == 3


def _members_on_a_plan(count: int) -> None:
    from members.models import FeePlanAssignment, Member
    from tests.factories import UserFactory

    plan = FeePlanFactory()
    users = UserFactory._meta.model.objects.bulk_create(
        [UserFactory.build(email=f"bulk{count}-{n}@example.org") for n in range(count)]
    )
    members = Member.objects.bulk_create(
        [
            Member(user=user, number=10_000 + n, status="active", admitted_on=D(2024, 1, 1))
            for n, user in enumerate(users)
        ]
    )
    FeePlanAssignment.objects.bulk_create(
        [FeePlanAssignment(member=m, plan=plan, valid_from=D(2024, 1, 1)) for m in members]
    )


@pytest.mark.parametrize("size", [10, 1000])
def test_the_preview_page_runs_the_same_queries_at_any_size(
    size, admin, client, django_assert_max_num_queries
):
    _members_on_a_plan(size)
    preview = prepared_preview()
    with django_assert_max_num_queries(12):
        page = client.get(reverse("billing:run_preview", args=[preview.pk])).content.decode()
    assert f"{size} invoices to issue" in page
    assert Counter(re.findall(r"<td>Member</td>", page))["<td>Member</td>"] == min(size, 25)


@pytest.mark.parametrize("size", [10, 1000])
def test_the_progress_page_runs_the_same_queries_at_any_size(
    size, admin, client, django_assert_max_num_queries
):
    _members_on_a_plan(size)
    run = services.invoice_run_start(preview=prepared_preview())
    run = services.invoice_run_execute(run_id=run.pk, today=RUN_DAY)
    with django_assert_max_num_queries(8):
        page = client.get(reverse("billing:run_progress", args=[run.pk])).content.decode()
    assert f"{size} of {size}" in page and f"{size} invoices issued" in page
