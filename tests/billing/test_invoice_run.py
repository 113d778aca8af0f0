import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from billing import rules, selectors, services
from billing.models import ContractStatus, Invoice, InvoiceLine
from members.models import FeePeriod
from tests.billing.factories import (
    ContractFactory,
    EnrolmentFactory,
    FeePlanAssignmentFactory,
    FeePlanFactory,
)
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db

D = datetime.date
MARCH = D(2026, 3, 1)
RUN_DAY = D(2026, 4, 1)


def run(period=MARCH, today=RUN_DAY, **kwargs):
    return services.invoice_run(period=period, today=today, **kwargs)


def line_amounts(invoice):
    return sorted(invoice.lines.values_list("amount", flat=True))


# --- Proration and rounding -----------------------------------------------------------------


def test_full_month_cover_is_charged_the_full_rate():
    enrolment = EnrolmentFactory(contract__rate_per_member_month=Decimal("45.00"))
    run()
    invoice = Invoice.objects.get(contract=enrolment.contract)
    assert invoice.total == Decimal("45.00")
    line = invoice.lines.get()
    assert (line.start, line.end, line.days, line.days_in_period) == (
        D(2026, 3, 1),
        D(2026, 3, 31),
        31,
        31,
    )


def test_mid_month_join_and_leave_are_prorated_by_days_and_rounded_half_up():
    contract = ContractFactory(rate_per_member_month=Decimal("100.00"))
    EnrolmentFactory(contract=contract, covered_from=D(2026, 3, 16))  # 16 of 31 days
    EnrolmentFactory(
        contract=contract, covered_from=D(2025, 6, 1), covered_to=D(2026, 3, 10)
    )  # 10 of 31
    EnrolmentFactory(
        contract=contract, covered_from=D(2026, 3, 5), covered_to=D(2026, 3, 5)
    )  # 1 of 31
    run()
    invoice = Invoice.objects.get(contract=contract)
    # 100 * 16/31 = 51.6129 -> 51.61; 100 * 10/31 = 32.2580 -> 32.26; 100/31 = 3.2258 -> 3.23
    assert line_amounts(invoice) == [Decimal("3.23"), Decimal("32.26"), Decimal("51.61")]
    assert invoice.total == Decimal("87.10")


def test_half_cent_rounds_up():
    assert rules.prorate(Decimal("0.31"), 15, 62) == Decimal("0.08")  # 0.075 -> 0.08
    assert rules.prorate(Decimal("10.00"), 1, 8) == Decimal("1.25")


def test_lines_are_rounded_to_the_smallest_unit_of_their_currency():
    # 1000 JPY for 10 of 31 days is 322.58...: the yen has no minor unit.
    assert rules.prorate(Decimal("1000"), 10, 31, "JPY") == Decimal("323.00")
    assert rules.prorate(Decimal("1000"), 10, 31, "EUR") == Decimal("322.58")
    yen = EnrolmentFactory(
        contract__currency="JPY",
        contract__rate_per_member_month=Decimal("1000"),
        covered_from=D(2026, 3, 22),
    )
    run(period=D(2026, 3, 1), today=D(2026, 4, 1))
    invoice = Invoice.objects.get(contract=yen.contract)
    assert (invoice.currency, invoice.total) == ("JPY", Decimal("323.00"))


def test_leap_february_has_29_days():
    enrolment = EnrolmentFactory(
        contract__rate_per_member_month=Decimal("29.00"), covered_from=D(2028, 2, 15)
    )
    run(period=D(2028, 2, 1), today=D(2028, 3, 1))
    line = Invoice.objects.get(contract=enrolment.contract).lines.get()
    assert (line.days, line.days_in_period, line.amount) == (15, 29, Decimal("15.00"))


def test_a_cover_with_no_day_in_the_period_adds_no_line_and_no_invoice():
    contract = ContractFactory()
    EnrolmentFactory(contract=contract, covered_from=D(2026, 4, 1))
    EnrolmentFactory(contract=contract, covered_from=D(2025, 1, 1), covered_to=D(2026, 2, 28))
    run()
    assert not Invoice.objects.exists()


def test_contract_ending_mid_month_stops_charging_at_its_end_date():
    contract = ContractFactory(
        end_date=D(2026, 3, 20), status=ContractStatus.ENDED, rate_per_member_month=Decimal("31")
    )
    EnrolmentFactory(contract=contract)
    run()
    assert Invoice.objects.get(contract=contract).total == Decimal("20.00")


def test_draft_contracts_are_not_invoiced():
    EnrolmentFactory(contract__status=ContractStatus.DRAFT)
    run()
    assert not Invoice.objects.exists()


def test_member_on_monthly_plan_is_charged_per_day_on_the_plan():
    assignment = FeePlanAssignmentFactory(plan__amount=Decimal("31.00"), valid_from=D(2026, 3, 11))
    run()
    invoice = Invoice.objects.get(member=assignment.member)
    assert invoice.total == Decimal("21.00")
    assert invoice.due_date == RUN_DAY + datetime.timedelta(days=14)
    assert invoice.bill_to_email == assignment.member.user.email


@pytest.mark.parametrize(
    ("first_name", "last_name"), [("Ada", "Lovelace"), ("", "Lovelace"), ("", "")]
)
def test_invoices_name_the_member_as_their_record_does(first_name, last_name):
    # The run reads names as columns, not members: the text must be Member.full_name's
    # (the full name, or the email when there is none).
    member = MemberFactory(user__first_name=first_name, user__last_name=last_name)
    FeePlanAssignmentFactory(member=member, plan__name="Solidarity")
    EnrolmentFactory(member=MemberFactory(user__first_name=first_name, user__last_name=last_name))
    run()
    fee = Invoice.objects.get(member=member)
    assert fee.bill_to_name == member.full_name
    assert fee.lines.get().description == "Solidarity (Monthly)"
    covered = InvoiceLine.objects.get(invoice__contract__isnull=False)
    assert covered.description == f"{covered.member.full_name} (#{covered.member.number})"
    if not first_name and not last_name:
        assert fee.bill_to_name == member.user.email


def test_covered_member_is_not_charged_a_plan_fee_for_the_same_days():
    member = MemberFactory()
    FeePlanAssignmentFactory(member=member, plan__amount=Decimal("31.00"))
    EnrolmentFactory(member=member, covered_from=D(2026, 3, 11), covered_to=D(2026, 3, 20))
    run()
    fee_invoice = Invoice.objects.get(member=member)
    assert [(line.start, line.end) for line in fee_invoice.lines.all()] == [
        (D(2026, 3, 1), D(2026, 3, 10)),
        (D(2026, 3, 21), D(2026, 3, 31)),
    ]
    assert fee_invoice.total == Decimal("21.00")
    contract_invoice = Invoice.objects.get(contract__isnull=False)
    assert contract_invoice.lines.get().days == 10


def test_member_covered_all_month_gets_no_fee_invoice():
    member = MemberFactory()
    FeePlanAssignmentFactory(member=member)
    EnrolmentFactory(member=member)
    run()
    assert not Invoice.objects.filter(member=member).exists()


def test_yearly_plans_are_charged_with_december_for_the_days_of_the_year():
    assignment = FeePlanAssignmentFactory(
        plan=FeePlanFactory(amount=Decimal("365.00"), period=FeePeriod.YEARLY),
        valid_from=D(2026, 7, 1),
    )
    run()
    assert not Invoice.objects.exists()
    run(period=D(2026, 12, 1), today=D(2027, 1, 1))
    invoice = Invoice.objects.get(member=assignment.member)
    line = invoice.lines.get()
    assert (line.days, line.days_in_period, invoice.total) == (184, 365, Decimal("184.00"))
    assert invoice.number.startswith("2027-")


def test_plan_change_mid_month_gives_one_invoice_with_a_line_per_plan():
    member = MemberFactory()
    FeePlanAssignmentFactory(member=member, plan__amount=Decimal("31.00"), valid_to=D(2026, 3, 15))
    FeePlanAssignmentFactory(
        member=member, plan__amount=Decimal("62.00"), valid_from=D(2026, 3, 16)
    )
    run()
    invoice = Invoice.objects.get(member=member)
    assert line_amounts(invoice) == [Decimal("15.00"), Decimal("32.00")]


def test_contract_invoice_is_dated_on_the_billing_day_and_due_after_the_terms():
    enrolment = EnrolmentFactory(contract__billing_day=5, contract__payment_terms_days=10)
    run()
    invoice = Invoice.objects.get(contract=enrolment.contract)
    assert invoice.issue_date == D(2026, 4, 5)
    assert invoice.due_date == D(2026, 4, 15)
    assert invoice.bill_to_name == enrolment.contract.anchor.name


# --- Idempotency, numbering and crashes -------------------------------------------------------


def test_running_twice_issues_nothing_more():
    EnrolmentFactory()
    FeePlanAssignmentFactory()
    first = run()
    second = run()
    assert len(first.created) == 2
    assert second.created == []
    assert second.already_invoiced == 2
    assert Invoice.objects.count() == 2


def test_invoice_numbers_are_sequential_per_year():
    for _ in range(3):
        FeePlanAssignmentFactory()
    run(today=D(2026, 4, 1))
    run(period=D(2026, 12, 1), today=D(2027, 1, 2))
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == [
        "2026-000001",
        "2026-000002",
        "2026-000003",
        "2027-000001",
        "2027-000002",
        "2027-000003",
    ]


def test_a_crash_half_way_keeps_what_was_issued_and_a_rerun_finishes_without_gaps():
    contract = ContractFactory()
    for _ in range(4):
        EnrolmentFactory(contract=contract)
    for _ in range(9):
        FeePlanAssignmentFactory()

    def crash_after_first_batch(ids):
        raise RuntimeError("worker lost")

    with pytest.raises(RuntimeError):
        run(batch_size=5, after_batch=crash_after_first_batch)
    assert Invoice.objects.count() == 5

    result = run(batch_size=5)
    assert len(result.created) == 5
    assert result.already_invoiced == 5
    assert Invoice.objects.filter(contract=contract).count() == 1
    assert Invoice.objects.filter(member__isnull=False).count() == 9
    assert Invoice.objects.filter(member__isnull=False).values("member").distinct().count() == 9
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == [f"2026-{n:06d}" for n in range(1, 11)]
    assert InvoiceLine.objects.filter(invoice__contract=contract).count() == 4


def test_a_batch_that_fails_in_the_database_gives_its_numbers_back():
    FeePlanAssignmentFactory()
    preview = selectors.invoice_run_preview(period=MARCH, today=RUN_DAY)
    draft = preview.drafts[0]
    draft.lines[0].amount = Decimal("-1.00")  # violates invoice_total_not_negative
    with pytest.raises(IntegrityError):
        services._issue_batch([draft])
    run()
    assert list(Invoice.objects.values_list("number", flat=True)) == ["2026-000001"]


def test_database_refuses_a_second_invoice_for_the_same_contract_and_period():
    enrolment = EnrolmentFactory()
    run()
    invoice = Invoice.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.bulk_create(
            [
                Invoice(
                    number="X-1",
                    contract=enrolment.contract,
                    period=invoice.period,
                    issue_date=RUN_DAY,
                    due_date=RUN_DAY,
                    currency="EUR",
                    total=1,
                    bill_to_name="x",
                    bill_to_email="x@example.org",
                )
            ]
        )


def test_run_for_one_contract_only_leaves_others_and_members_alone():
    wanted = EnrolmentFactory().contract
    EnrolmentFactory()
    FeePlanAssignmentFactory()
    run(contract_ids=[wanted.pk], include_members=False)
    assert list(Invoice.objects.values_list("contract", flat=True)) == [wanted.pk]


@pytest.mark.parametrize("size", [10, 60])
def test_the_run_uses_a_bounded_number_of_queries(size, django_assert_max_num_queries):
    contract = ContractFactory()
    members = MemberFactory.create_batch(size)
    plan = FeePlanFactory()
    for member in members[: size // 2]:
        EnrolmentFactory(contract=contract, member=member)
    for member in members[size // 2 :]:
        FeePlanAssignmentFactory(member=member, plan=plan)
    # 21: seven reads to draft (one reads the members' memberships from their status
    # history), one batch (the counter locked, what exists re-read, the last issue date,
    # the numbers taken, one insert per table, savepoints) and the run's completed record.
    with django_assert_max_num_queries(21):
        result = run()
    assert len(result.created) == 1 + size // 2


# The preview page at two sizes: tests/billing/test_run_preview.py.


def _rows_read_from_invoices(execute, sql, params, many, context):
    result = execute(sql, params, many, context)
    if sql.lstrip().upper().startswith("SELECT") and 'FROM "billing_invoice"' in sql:
        _rows_read_from_invoices.rows += max(context["cursor"].rowcount, 0)
    return result


def test_each_batch_rereads_only_its_own_contracts_and_members_not_the_whole_period():
    from django.db import connection

    # Ten members already invoiced this period (an earlier, partial run) and four left.
    done = [FeePlanAssignmentFactory() for _ in range(10)]
    run(include_members=True)
    assert Invoice.objects.count() == 10
    for _ in range(4):
        FeePlanAssignmentFactory()
    batches = []
    _rows_read_from_invoices.rows = 0

    def count_batch(ids):
        batches.append(_rows_read_from_invoices.rows)

    # Rows the preview reads (the period's ten keys, once) are not the batches' re-reads.
    preview_rows = 10
    with connection.execute_wrapper(_rows_read_from_invoices):
        result = run(batch_size=2, after_batch=count_batch)
    assert len(result.created) == 4 and result.already_invoiced == len(done)
    # Re-reading the whole period would read its 10, 12 rows again in each of the two
    # batches; bounded to the batch, nothing but the preview's read and the last issue
    # date (one row a batch) is read.
    assert batches[-1] - preview_rows <= 2


def test_an_invoice_issued_meanwhile_for_a_member_of_a_batch_is_not_issued_twice():
    members = [FeePlanAssignmentFactory().member for _ in range(4)]
    preview = selectors.invoice_run_preview(period=MARCH, today=RUN_DAY)
    # Another run issues the third member's invoice after this run's preview was taken.
    services._issue_batch([d for d in preview.drafts if d.member_id == members[2].pk])
    drafts = sorted(preview.drafts, key=lambda d: d.member_id)
    created = services._issue_batch(drafts[:2]) + services._issue_batch(drafts[2:])
    assert len(created) == 3
    assert Invoice.objects.filter(member=members[2]).count() == 1
    assert Invoice.objects.count() == 4
