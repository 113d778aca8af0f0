"""Reads of contracts and invoices. Other apps use only what is documented for them here."""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from billing import rules
from billing.models import (
    UNPAID_STATUSES,
    AnchorOrganization,
    ContractStatus,
    CoverEnrolment,
    CreditNote,
    DirectCareContract,
    FederationStatementDocument,
    Invoice,
    InvoiceLine,
    InvoiceRun,
    InvoiceRunPreview,
    InvoiceRunPreviewItem,
    PayerKind,
    Payment,
    Refund,
)
from clinic.money import quantize_money
from clinic.roles import Role, has_role

ZERO = Decimal("0.00")


# --- For other apps -----------------------------------------------------------------------


def member_ids_with_invoices_overdue(
    *, on: datetime.date, as_of: datetime.date | None = None
) -> QuerySet:
    """Ids of members with an invoice that fell due before ``on`` and was still unpaid at
    the end of ``as_of`` (default: today), as one subquery.

    Members' good standing excludes these. The balance is computed from the payments and
    credit notes dated up to ``as_of``, so asking about a past record date gives the answer
    of that day even when the invoice has been paid since.
    """
    from members.models import Member

    as_of = as_of or timezone.localdate()
    unpaid = (
        Invoice.objects.filter(member__isnull=False, due_date__lt=on, issue_date__lte=as_of)
        .annotate(
            paid=_sum_of(Payment, date_field="paid_on", up_to=as_of),
            credited=_sum_of(CreditNote, date_field="issue_date", up_to=as_of),
            refunded=_sum_of(Refund, date_field="refunded_on", up_to=as_of),
        )
        .filter(total__gt=F("paid") + F("credited") - F("refunded"))
        .values("member_id")
    )
    return Member.objects.filter(pk__in=unpaid).order_by().values("pk")


def member_cover_on(*, member, on: datetime.date) -> CoverEnrolment | None:
    """The cover enrolment of a member on a date (for "covered by <anchor>")."""
    return (
        CoverEnrolment.objects.filter(
            member=member,
            covered_from__lte=on,
            contract__status=ContractStatus.ACTIVE,
        )
        .filter(Q(covered_to__isnull=True) | Q(covered_to__gte=on))
        .select_related("contract__anchor")
        .first()
    )


def invoice_billing_member_days(
    *,
    member_id: int,
    start: datetime.date,
    end: datetime.date | None = None,
    contract_id: int | None = None,
    fee: bool = False,
) -> Invoice | None:
    """The first issued invoice that a change to the member's billing on ``start``..``end``
    (open end when None) would make wrong, or None.

    That is an invoice with a line for the member on one of those days, or (``contract_id``)
    the contract's invoice for a month of those days, or (``fee``) a member fee invoice of
    the run for a month of those days: a run already made does not bill the change later.
    """
    lines = InvoiceLine.objects.filter(member_id=member_id, end__gte=start)
    if end is not None:
        lines = lines.filter(start__lte=end)
    months = Q(period__gte=rules.month_start(start))
    if end is not None:
        months &= Q(period__lte=end)
    scope = Q(pk__in=lines.values("invoice_id"))
    if contract_id is not None:
        scope |= months & Q(contract_id=contract_id)
    if fee:
        scope |= months & Q(member__isnull=False)
    return Invoice.objects.filter(scope).order_by("period", "number").first()


# The audit actions written when a run has been through every member's fee (every
# contract) for a period: a month passed whether or not it issued an invoice to the member
# (the contract) concerned.
MEMBER_RUN_COMPLETED = "member_run_completed"
CONTRACT_RUN_COMPLETED = "contract_run_completed"


def member_run_made(
    *, start: datetime.date, end: datetime.date | None = None, action: str = MEMBER_RUN_COMPLETED
) -> datetime.date | None:
    """The first month from ``start`` to ``end`` (open end when None) whose member fee run
    (``action``: or run of every contract) has been completed, or None. A change in such a
    month would never be billed: the run does not come back to it."""
    from billing.models import BillingEvent

    runs = BillingEvent.objects.filter(
        action=action, detail__gte=rules.month_start(start).isoformat()
    )
    if end is not None:
        runs = runs.filter(detail__lte=end.isoformat())
    first = runs.order_by("detail").values_list("detail", flat=True).first()
    return datetime.date.fromisoformat(first) if first else None


def invoices_billing_member_after(*, member_id: int, on: datetime.date) -> QuerySet[Invoice]:
    """Issued invoices that bill the member for a day after ``on`` (e.g. a late-recorded
    death): the office corrects them with credit notes."""
    lines = InvoiceLine.objects.filter(member_id=member_id, end__gt=on)
    return Invoice.objects.filter(pk__in=lines.values("invoice_id")).order_by("period", "number")


# --- Amounts on invoices --------------------------------------------------------------------


def _sum_of(
    model,
    field_name: str = "amount",
    *,
    date_field: str = "",
    up_to: datetime.date | None = None,
    invoice: str = "pk",
) -> Coalesce:
    rows = model.objects.filter(invoice=OuterRef(invoice))
    if up_to is not None:
        rows = rows.filter(**{f"{date_field}__lte": up_to})
    total = rows.order_by().values("invoice").annotate(total=Sum(field_name)).values("total")
    return Coalesce(
        Subquery(total, output_field=DecimalField(max_digits=15, decimal_places=4)),
        Value(ZERO),
        output_field=DecimalField(max_digits=15, decimal_places=4),
    )


def with_amounts(invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """Annotate ``paid``, ``credited`` and ``refunded``; the balance is ``balance_of``."""
    return invoices.annotate(
        paid=_sum_of(Payment), credited=_sum_of(CreditNote), refunded=_sum_of(Refund)
    )


def emails_for_message(emails: QuerySet) -> QuerySet:
    """Invoice emails with their invoice (and its member) and credit note: what a message
    needs, one query. The balance comes with the invoice row (``balance_due``)."""
    return emails.select_related("invoice__member", "credit_note")


def balance_due(invoice: Invoice) -> Decimal:
    """total - received, from the invoice row alone: ``received`` is kept by the database
    (billing migration 0009), so no payment, credit note or refund is summed."""
    return quantize_money(invoice.total - invoice.received, invoice.currency)


def balance_of(invoice: Invoice) -> Decimal:
    """total - paid - credited + refunded, of an invoice annotated by ``with_amounts``."""
    return quantize_money(
        invoice.total - invoice.paid - invoice.credited + invoice.refunded, invoice.currency
    )


def invoice_list(*, status: str = "", period: datetime.date | None = None) -> QuerySet[Invoice]:
    invoices = Invoice.objects.select_related("contract__anchor", "member__user")
    if status:
        invoices = invoices.filter(status=status)
    if period is not None:
        invoices = invoices.filter(period=rules.month_start(period))
    return with_amounts(invoices).order_by("-issue_date", "-number")


# --- Access: one helper per protected object ------------------------------------------------


def invoices_for_user(user) -> QuerySet[Invoice]:
    """Invoices a person may see: all (administrator), their organization's (anchor
    contact), their own (member)."""
    if has_role(user, Role.ADMINISTRATOR):
        return Invoice.objects.all()
    scope = Q(pk__in=[])
    if has_role(user, Role.ANCHOR_CONTACT):
        scope |= Q(contract__anchor__contacts=user)
    if has_role(user, Role.MEMBER):
        scope |= Q(member__user=user)
    return Invoice.objects.filter(scope).distinct()


def invoice_for_user(user, pk: int) -> Invoice:
    return get_object_or_404(invoices_for_user(user), pk=pk)


def credit_note_for_user(user, pk: int) -> CreditNote:
    invoices = invoices_for_user(user)
    return get_object_or_404(
        CreditNote.objects.filter(invoice__in=invoices.values("pk")).select_related("invoice"),
        pk=pk,
    )


def anchor_contracts_for_user(user) -> QuerySet[DirectCareContract]:
    """Contracts of the organizations the anchor contact represents."""
    return DirectCareContract.objects.filter(anchor__contacts=user).select_related("anchor")


def anchor_contract_for_user(user, pk: int) -> DirectCareContract:
    return get_object_or_404(anchor_contracts_for_user(user), pk=pk)


def anchor_invoices_for_user(user) -> QuerySet[Invoice]:
    return with_amounts(
        Invoice.objects.filter(contract__anchor__contacts=user).select_related("contract")
    ).order_by("-period", "-number")


def member_invoices(member) -> QuerySet[Invoice]:
    return with_amounts(member.invoices.all()).prefetch_related("credit_notes").order_by("-period")


def balances_by_currency(invoices) -> dict[str, Decimal]:
    """What is owed on invoices annotated by ``with_amounts``, per currency (negative: owed
    back to the payer). Currencies with nothing owed either way are left out."""
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for invoice in invoices:
        totals[invoice.currency] += balance_of(invoice)
    return {currency: amount for currency, amount in sorted(totals.items()) if amount}


def invoice_detail(pk: int) -> Invoice:
    """The invoice with its amounts, payments, credit notes, refunds and emails; its lines
    are paged (``invoice_lines``): an anchor's invoice has a line per covered person."""
    return get_object_or_404(
        with_amounts(
            Invoice.objects.select_related("contract__anchor", "member__user").prefetch_related(
                "payments", "credit_notes", "refunds", "emails"
            )
        ),
        pk=pk,
    )


def invoice_lines(invoice: Invoice) -> QuerySet[InvoiceLine]:
    """The invoice's lines in the order they were issued, to paginate."""
    return invoice.lines.order_by("pk")


def anchor_list() -> QuerySet[AnchorOrganization]:
    return AnchorOrganization.objects.prefetch_related("contracts", "contacts")


def contract_summary(pk: int) -> DirectCareContract:
    """A contract and its anchor, without its covered people (see ``contract_enrolments``)."""
    return get_object_or_404(DirectCareContract.objects.select_related("anchor"), pk=pk)


def contract_enrolments(contract: DirectCareContract) -> QuerySet[CoverEnrolment]:
    """The contract's covered people by member number, to paginate."""
    return contract.enrolments.select_related("member__user").order_by(
        "member__number", "covered_from", "pk"
    )


def contract_detail(pk: int) -> DirectCareContract:
    return get_object_or_404(
        DirectCareContract.objects.select_related("anchor").prefetch_related(
            "enrolments__member__user"
        ),
        pk=pk,
    )


# --- Covered headcount ----------------------------------------------------------------------


def headcount_by_month(
    contract: DirectCareContract, *, until: datetime.date
) -> list[tuple[datetime.date, int]]:
    """Members covered on at least one day of each month, from the start to ``until``.

    Counted in the database, one query whatever the number of covered people and months.
    """
    last = min(contract.end_date or until, until)
    months = []
    month = rules.month_start(contract.start_date)
    while month <= last:
        months.append(month)
        month = rules.next_month(month)
    if not months:
        return []
    counts = CoverEnrolment.objects.filter(contract=contract).aggregate(
        **{
            f"m{i}": Count(
                "member",
                distinct=True,
                filter=Q(covered_from__lte=rules.month_end(month))
                & (Q(covered_to__isnull=True) | Q(covered_to__gte=month)),
            )
            for i, month in enumerate(months)
        }
    )
    return [(month, counts[f"m{i}"]) for i, month in enumerate(months)]


# --- Invoice runs ---------------------------------------------------------------------------


@dataclass
class LineDraft:
    description: str
    member_id: int | None
    start: datetime.date
    end: datetime.date
    days: int
    days_in_period: int
    unit_amount: Decimal
    amount: Decimal


@dataclass
class InvoiceDraft:
    period: datetime.date
    issue_date: datetime.date
    due_date: datetime.date
    currency: str
    bill_to_name: str
    bill_to_email: str
    bill_to_address: str = ""
    bill_to_tax_id: str = ""
    contract_id: int | None = None
    member_id: int | None = None
    lines: list[LineDraft] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def key(self) -> tuple[str, int]:
        return ("contract", self.contract_id) if self.contract_id else ("member", self.member_id)


@dataclass
class HeldInvoice:
    """A member's invoice the run holds back rather than issue short, and why."""

    member_id: int
    bill_to_name: str
    problem: str


@dataclass
class RunPreview:
    drafts: list[InvoiceDraft]
    already_invoiced: int
    problems: list[str]
    held: list[HeldInvoice] = field(default_factory=list)

    @property
    def totals_by_currency(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for draft in self.drafts:
            totals[draft.currency] += draft.total
        return dict(sorted(totals.items()))

    @property
    def contract_count(self) -> int:
        return sum(1 for d in self.drafts if d.contract_id)

    @property
    def member_count(self) -> int:
        return sum(1 for d in self.drafts if d.member_id)


def _contract_issue_date(contract: DirectCareContract, period, today) -> datetime.date:
    billing_date = rules.next_month(period).replace(day=contract.billing_day)
    return max(today, billing_date)


def _within_memberships(
    span: rules.DateRange | None, memberships: list[tuple[datetime.date, datetime.date | None]]
) -> list[rules.DateRange]:
    """The parts of ``span`` inside any of the member's memberships (admission to ceasing,
    ``members.selectors.membership_spans``): a member readmitted within the period is billed
    for the days of both memberships, and for no day between them."""
    if span is None:
        return []
    pieces = (rules.clip(span[0], span[1], (start, end or span[1])) for start, end in memberships)
    return [piece for piece in pieces if piece is not None]


def invoice_run_preview(
    *,
    period: datetime.date,
    today: datetime.date,
    contract_ids: list[int] | None = None,
    include_members: bool = True,
) -> RunPreview:
    """What an invoice run for ``period`` (a calendar month) would issue, in a fixed number
    of queries whatever the number of contracts, members and invoices."""
    from members.models import FeePeriod, FeePlan, person_name
    from members.selectors import fee_plan_assignments_between, membership_spans

    period = rules.month_start(period)
    span = (period, rules.month_end(period))
    days_in_month = rules.days_in(span)
    existing = Invoice.objects.filter(period=period).values_list("contract_id", "member_id")
    invoiced_contracts, invoiced_members = set(), set()
    for contract_id, member_id in existing:
        (invoiced_contracts if contract_id else invoiced_members).add(contract_id or member_id)
    drafts: list[InvoiceDraft] = []
    problems: list[str] = []
    held_invoices: list[HeldInvoice] = []
    already = 0

    contracts = (
        DirectCareContract.objects.exclude(status=ContractStatus.DRAFT)
        .filter(start_date__lte=span[1])
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=span[0]))
        .select_related("anchor")
        .order_by("pk")
    )
    if contract_ids is not None:
        contracts = contracts.filter(pk__in=contract_ids)
    contracts = list(contracts)
    # Covers and fee plans are read as rows, not models: building a member, a user and a
    # plan per row was most of the drafting's time (1,601 invoices: 0.24 s of 0.40 s under
    # pyinstrument). Only covers with a day in the period can bill it.
    enrolments: dict[int, list[tuple]] = defaultdict(list)
    for contract_id, *enrolment in (
        CoverEnrolment.objects.filter(
            contract_id__in=[c.pk for c in contracts], covered_from__lte=span[1]
        )
        .exclude(covered_to__lt=span[0])
        .order_by("contract_id", "member__number", "covered_from", "pk")
        .values_list(
            "contract_id",
            "member_id",
            "member__number",
            "member__user__first_name",
            "member__user__last_name",
            "member__user__email",
            "covered_from",
            "covered_to",
        )
    ):
        enrolments[contract_id].append(enrolment)
    # Yearly fees are charged with December, for the calendar year's days on the plan.
    year_span = (period.replace(month=1, day=1), period.replace(month=12, day=31))
    fee_span = year_span if period.month == 12 else span
    assignments = (
        list(
            fee_plan_assignments_between(start=fee_span[0], end=fee_span[1])
            .order_by("member__number", "member_id", "valid_from")
            .values_list(
                "member_id",
                "member__number",
                "member__address",
                "member__user__first_name",
                "member__user__last_name",
                "member__user__email",
                "plan_id",
                "valid_from",
                "valid_to",
            )
        )
        if include_members
        else []
    )
    plans = FeePlan.objects.in_bulk({plan_id for *_member, plan_id, _from, _to in assignments})
    # Each plan's line text once, not once per member.
    plan_lines = {pk: f"{plan.name} ({plan.get_period_display()})" for pk, plan in plans.items()}
    memberships = membership_spans(
        member_ids={row[0] for rows in enrolments.values() for row in rows}
        | {row[0] for row in assignments}
    )
    for contract in contracts:
        if contract.pk in invoiced_contracts:
            already += 1
            continue
        contract_span = rules.clip(contract.start_date, contract.end_date, span)
        issue_date = _contract_issue_date(contract, period, today)
        draft = InvoiceDraft(
            period=period,
            issue_date=issue_date,
            due_date=issue_date + datetime.timedelta(days=contract.payment_terms_days),
            currency=contract.currency,
            bill_to_name=contract.anchor.name,
            bill_to_email=contract.anchor.billing_contact_email,
            bill_to_address=contract.anchor.address,
            bill_to_tax_id=contract.anchor.tax_id,
            contract_id=contract.pk,
        )
        for member_id, number, first_name, last_name, email, covered_from, covered_to in sorted(
            # Lines by member number, then start of cover.
            enrolments[contract.pk],
            key=lambda row: (row[1] or 0, row[5]),
        ):
            covered = rules.clip(covered_from, covered_to, contract_span)
            # Nothing is billed outside membership, whatever the cover's dates say.
            for start, end in _within_memberships(covered, memberships.get(member_id, [])):
                days = rules.days_in((start, end))
                draft.lines.append(
                    LineDraft(
                        description=(
                            f"{person_name(first_name, last_name, email)} (#{number or '—'})"
                        ),
                        member_id=member_id,
                        start=start,
                        end=end,
                        days=days,
                        days_in_period=days_in_month,
                        unit_amount=contract.rate_per_member_month,
                        amount=rules.prorate(
                            contract.rate_per_member_month, days, days_in_month, contract.currency
                        ),
                    )
                )
        if draft.lines:
            drafts.append(draft)

    if include_members:
        member_ids = {row[0] for row in assignments}
        covers: dict[int, list[rules.DateRange]] = defaultdict(list)
        for member_id, start, end, contract_start, contract_end in (
            CoverEnrolment.objects.filter(member_id__in=member_ids, covered_from__lte=fee_span[1])
            .exclude(contract__status=ContractStatus.DRAFT)
            .exclude(covered_to__lt=fee_span[0])
            .values_list(
                "member_id",
                "covered_from",
                "covered_to",
                "contract__start_date",
                "contract__end_date",
            )
        ):
            # Only the days the contract bills are covered: a cover's days outside its
            # contract's dates are billed to the member, so no day is billed to nobody.
            in_contract = rules.clip(contract_start, contract_end, fee_span)
            clipped = in_contract and rules.clip(start, end, in_contract)
            if clipped:
                covers[member_id].append(clipped)
        member_drafts: dict[int, InvoiceDraft] = {}
        held: set[int] = set()
        for (
            member_id,
            number,
            address,
            first_name,
            last_name,
            email,
            plan_id,
            valid_from,
            valid_to,
        ) in assignments:
            plan = plans[plan_id]
            if member_id in invoiced_members or member_id in held:
                continue
            if plan.period == FeePeriod.YEARLY:
                if period.month != 12:
                    continue
                plan_span, days_in_period = year_span, rules.days_in(year_span)
            else:
                plan_span, days_in_period = span, days_in_month
            on_plan = rules.clip(valid_from, valid_to, plan_span)
            pieces = [
                piece
                for in_membership in _within_memberships(on_plan, memberships.get(member_id, []))
                for piece in rules.subtract(in_membership, covers[member_id])
            ]
            for start, end in pieces:
                days = rules.days_in((start, end))
                draft = member_drafts.get(member_id)
                if draft is None:
                    draft = member_drafts[member_id] = InvoiceDraft(
                        period=period,
                        issue_date=today,
                        due_date=today
                        + datetime.timedelta(days=settings.CLINIC_MEMBER_PAYMENT_TERMS_DAYS),
                        currency=plan.currency,
                        bill_to_name=person_name(first_name, last_name, email),
                        bill_to_email=email,
                        bill_to_address=address,
                        member_id=member_id,
                    )
                if draft.currency != plan.currency:
                    # Held, not issued short: the problem is shown in the preview, the run
                    # result and the scheduled run's log and audit trail.
                    held.add(member_id)
                    problem = _(
                        "%(member)s (#%(number)s): fee plans in two currencies "
                        "(%(first)s, %(second)s) in this period; their invoice is held."
                    ) % {
                        "member": draft.bill_to_name,
                        "number": number,
                        "first": draft.currency,
                        "second": plan.currency,
                    }
                    problems.append(problem)
                    held_invoices.append(HeldInvoice(member_id, draft.bill_to_name, problem))
                    break
                draft.lines.append(
                    LineDraft(
                        description=plan_lines[plan_id],
                        member_id=member_id,
                        start=start,
                        end=end,
                        days=days,
                        days_in_period=days_in_period,
                        unit_amount=plan.amount,
                        amount=rules.prorate(plan.amount, days, days_in_period, plan.currency),
                    )
                )
        already += len(invoiced_members & member_ids)
        drafts.extend(
            d for d in member_drafts.values() if d.member_id not in held and d.lines and d.total > 0
        )
    return RunPreview(
        drafts=drafts, already_invoiced=already, problems=problems, held=held_invoices
    )


@dataclass
class RunPreviewSummary:
    """Counts and totals of a stored run preview (``InvoiceRunPreview``)."""

    invoice_count: int
    contract_count: int
    member_count: int
    held_count: int
    payer_count: int
    # {currency: total}, and {currency: {"contract": ..., "member": ..., "total": ...}}.
    totals_by_currency: dict[str, Decimal]
    totals_by_kind: dict[str, dict[str, Decimal]]


def run_preview_summary(preview: InvoiceRunPreview) -> RunPreviewSummary:
    """Summed in the database over the stored drafts: two queries whatever their number.

    The drafts are the run's own (the worker stores ``invoice_run_preview``'s), so these
    figures are what the run issues if nothing changes before it starts.
    """
    rows = (
        preview.items.order_by()
        .values("payer_kind", "currency", "held")
        .annotate(count=Count("pk"), total=Sum("total"))
    )
    counts = {PayerKind.CONTRACT: 0, PayerKind.MEMBER: 0}
    held = 0
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    by_kind: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for row in rows:
        if row["held"]:
            held += row["count"]
            continue
        counts[row["payer_kind"]] += row["count"]
        # Sums of four-decimal columns: rounded back to the currency's own unit.
        row["total"] = quantize_money(row["total"], row["currency"])
        totals[row["currency"]] += row["total"]
        by_kind[row["currency"]][row["payer_kind"]] = (
            by_kind[row["currency"]].get(row["payer_kind"], ZERO) + row["total"]
        )
    payers = preview.items.filter(held=False).aggregate(
        anchors=Count("contract__anchor", distinct=True), members=Count("member", distinct=True)
    )
    return RunPreviewSummary(
        invoice_count=counts[PayerKind.CONTRACT] + counts[PayerKind.MEMBER],
        contract_count=counts[PayerKind.CONTRACT],
        member_count=counts[PayerKind.MEMBER],
        held_count=held,
        payer_count=payers["anchors"] + payers["members"],
        totals_by_currency=dict(sorted(totals.items())),
        totals_by_kind={
            currency: {**by_kind[currency], "total": totals[currency]}
            for currency in sorted(by_kind)
        },
    )


def run_preview_items(preview: InvoiceRunPreview) -> QuerySet[InvoiceRunPreviewItem]:
    """The previewed invoices to paginate: held ones first, then anchors', then members',
    by name (the order of an index, so a page reads only its own rows)."""
    return preview.items.order_by("-held", "payer_kind", "bill_to_name", "pk")


def run_preview_detail(pk: int) -> InvoiceRunPreview:
    return get_object_or_404(InvoiceRunPreview.objects.select_related("contract__anchor"), pk=pk)


def invoice_run_detail(pk: int) -> InvoiceRun:
    return get_object_or_404(InvoiceRun.objects.select_related("contract__anchor"), pk=pk)


# --- Reports --------------------------------------------------------------------------------

AGING_BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")


def aging_bucket(days_overdue: int) -> str:
    if days_overdue <= 0:
        return "current"
    if days_overdue <= 30:
        return "1-30"
    if days_overdue <= 60:
        return "31-60"
    if days_overdue <= 90:
        return "61-90"
    return "90+"


# Bucket keys as annotation names (``1-30`` is not a valid one), in the buckets' order.
AGING_KEYS = dict(zip(AGING_BUCKETS, ("current", "d1_30", "d31_60", "d61_90", "d90"), strict=True))
_MONEY = DecimalField(max_digits=15, decimal_places=4)
# A payer: the contract (anchor) or the member an invoice is to, in its currency.
_PAYER = ("currency", "contract_id", "member_id")


def _aging_bucket(*, on: datetime.date, due: str = "due_date") -> Case:
    """The aging bucket of an invoice due on ``due`` as seen on ``on``, in the database."""
    days = datetime.timedelta
    return Case(
        When(**{f"{due}__gte": on}, then=Value("current")),
        When(**{f"{due}__gte": on - days(days=30)}, then=Value("1-30")),
        When(**{f"{due}__gte": on - days(days=60)}, then=Value("31-60")),
        When(**{f"{due}__gte": on - days(days=90)}, then=Value("61-90")),
        default=Value("90+"),
        output_field=CharField(),
    )


def unpaid_invoices_on(*, on: datetime.date) -> QuerySet[Invoice]:
    """Every invoice with a balance due, annotated with ``balance`` and its aging
    ``bucket`` on ``on`` (for the CSV: one row per invoice)."""
    return _unpaid_by_bucket(on=on).filter(balance__gt=0)


class CountedPayers:
    """The payers query with its count already known (read with the totals), so that
    paginating it does not group every unpaid invoice a second time to count the groups."""

    ordered = True

    def __init__(self, payers: QuerySet, count: int) -> None:
        self.query_set = payers
        self._count = count

    def count(self) -> int:
        return self._count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index):
        return self.query_set[index]

    def __iter__(self):
        return iter(self.query_set)


@dataclass
class AgingReport:
    """Unpaid balances on ``on`` by payer and bucket.

    ``payers`` is one row per payer (a contract or a member, in a currency), by name, to
    paginate; pass a page of it to ``rows`` for the balances. ``totals`` is the total row
    of each currency; ``invoices`` every unpaid invoice, for the CSV.
    """

    on: datetime.date
    payers: CountedPayers
    totals: dict[str, dict[str, Decimal]]

    @property
    def invoices(self) -> QuerySet[Invoice]:
        return unpaid_invoices_on(on=self.on).order_by("due_date", "number")

    def rows(self, payers) -> list[dict]:
        """Balances of a page of ``payers``, by bucket.

        One query sums the page's payers' unpaid invoices by bucket (ordering every payer
        by name does not need their sums, so ``payers`` leaves them out)."""
        payers = list(payers)
        contracts = [payer["contract_id"] for payer in payers if payer["contract_id"]]
        members = [payer["member_id"] for payer in payers if payer["member_id"]]
        invoiced = {
            tuple(row[field] for field in _PAYER): row
            for row in _unpaid_by_bucket(on=self.on)
            .filter(Q(contract_id__in=contracts) | Q(member_id__in=members))
            .values(*_PAYER)
            .annotate(invoice_count=Count("pk"), **_balance_by_bucket())
        }
        result = []
        for payer in payers:
            payer_key = tuple(payer[field] for field in _PAYER)
            if payer_key not in invoiced:  # settled since the page was read
                continue
            row = {**payer, **invoiced[payer_key], "buckets": {}}
            for bucket, key in AGING_KEYS.items():
                row["buckets"][bucket] = quantize_money(row[key], payer["currency"])
            row["total"] = sum(row["buckets"].values(), ZERO)
            # Something past its due date: the report offers to remind the payer.
            row["overdue"] = row["total"] - row["buckets"]["current"] > 0
            result.append(row)
        return result


def _unpaid_by_bucket(*, on: datetime.date) -> QuerySet[Invoice]:
    """Unpaid invoices with their ``balance`` (what is still due: the total less what
    the database added up as received) and their aging ``bucket`` on ``on``."""
    return Invoice.objects.filter(status__in=UNPAID_STATUSES).annotate(
        balance=ExpressionWrapper(F("total") - F("received"), output_field=_MONEY),
        bucket=_aging_bucket(on=on),
    )


def _balance_by_bucket() -> dict[str, Coalesce]:
    """The balance due in each bucket, as aggregates named by ``AGING_KEYS``."""
    return {
        key: Coalesce(Sum("balance", filter=Q(bucket=name)), Value(ZERO), output_field=_MONEY)
        for name, key in AGING_KEYS.items()
    }


def aging_report(*, on: datetime.date) -> AgingReport:
    """Unpaid balances by how long past due they are on ``on``, per payer and per currency.

    Summed in the database from the unpaid invoices alone, whatever the number of
    payments ever received: each invoice's balance is its total less ``received``, which
    the database keeps. Balances are grouped by currency for the total rows, and by payer
    for a page of payers (``rows``). A fixed number of queries at any size.
    """
    unpaid = _unpaid_by_bucket(on=on)
    payers = (
        unpaid.order_by()
        .values(*_PAYER)
        .annotate(name=Max("bill_to_name"))
        .order_by("name", "contract_id", "member_id")
    )
    totals: dict[str, dict[str, Decimal]] = {}
    payer_count = 0
    # A payer is a contract or a member (never both) in a currency: counting each kind's
    # distinct ids per currency counts the payers' rows.
    per_currency = (
        unpaid.order_by()
        .values("currency")
        .annotate(
            **_balance_by_bucket(),
            payer_count=Count("contract_id", distinct=True) + Count("member_id", distinct=True),
        )
    )
    for row in per_currency:
        totals[row["currency"]] = {name: row[key] for name, key in AGING_KEYS.items()}
        payer_count += row["payer_count"]
    for currency, currency_totals in totals.items():
        for name in currency_totals:
            currency_totals[name] = quantize_money(currency_totals[name], currency)
        currency_totals["total"] = sum(currency_totals.values(), ZERO)
    return AgingReport(
        on=on,
        payers=CountedPayers(payers, payer_count),
        totals=dict(sorted(totals.items())),
    )


@dataclass
class FederationStatement:
    month: datetime.date
    percent: Decimal
    lines: list[tuple[str, Decimal, Decimal]]  # currency, collected, contribution due


def federation_statement(*, month: datetime.date) -> FederationStatement:
    """Revenue collected (payments received) in a month and the federation's share of it."""
    month = rules.month_start(month)
    percent = Decimal(settings.CLINIC_FEDERATION_PERCENT)
    collected = (
        Payment.objects.filter(paid_on__gte=month, paid_on__lte=rules.month_end(month))
        .order_by("currency")
        .values("currency")
        .annotate(total=Sum("amount"))
    )
    lines = [
        (
            row["currency"],
            quantize_money(row["total"], row["currency"]),
            rules.percent_of(row["total"], percent, row["currency"]),
        )
        for row in collected
    ]
    if not lines:
        lines = [(settings.CLINIC_CURRENCY, ZERO, ZERO)]
    return FederationStatement(month=month, percent=percent, lines=lines)


def federation_statement_document(*, month: datetime.date) -> FederationStatementDocument | None:
    """The stored PDF of a month's statement, if one was asked for."""
    return FederationStatementDocument.objects.filter(month=rules.month_start(month)).first()


SUPPRESSION_THRESHOLD = 5


def suppress(count: int) -> int | None:
    """Counts under the threshold are withheld (None) so no person can be identified."""
    return count if count >= SUPPRESSION_THRESHOLD else None


@dataclass
class QuarterOutcomes:
    """Care counts of one fixed calendar quarter, each withheld under the threshold."""

    start: datetime.date
    end: datetime.date
    active_arcs: int | None
    achieved_arcs: int | None


@dataclass
class ValueReport:
    contract: DirectCareContract
    start: datetime.date
    end: datetime.date
    headcount: int
    member_months: Decimal
    total_billed: Decimal
    previous_spend: Decimal | None
    difference: Decimal | None
    quarters: list[QuarterOutcomes]


def anchor_value_report(
    *, contract: DirectCareContract, start: datetime.date, end: datetime.date
) -> ValueReport:
    """What the anchor bought over months ``start``..``end``: headcount, money, and care
    delivered as non-clinical aggregates with small counts suppressed.

    Care counts are given per whole calendar quarter, never for the chosen window: the
    count for a quarter depends only on the contract and that quarter, so two windows
    (one month longer, one member fewer) cannot be subtracted to reveal one person's arc,
    and no total across quarters is shown that would give back a withheld cell.
    """
    from arcs.selectors import arc_outcome_counts

    start, end = rules.month_start(start), rules.month_end(end)
    member_ids: set[int] = set()
    member_months = Decimal(0)
    enrolments = list(contract.enrolments.all())
    quarter_spans = rules.quarters(start, end)
    quarter_members: dict[datetime.date, set[int]] = {q: set() for q, _ in quarter_spans}
    month = rules.quarter_start(start)
    while month <= quarter_spans[-1][1]:
        span = (month, rules.month_end(month))
        in_window = start <= month <= end
        for enrolment in enrolments:
            covered = rules.clip(enrolment.covered_from, enrolment.covered_to, span)
            contract_span = rules.clip(contract.start_date, contract.end_date, span)
            if covered and contract_span:
                covered = rules.clip(covered[0], covered[1], contract_span)
            if covered and contract_span:
                quarter_members[rules.quarter_start(month)].add(enrolment.member_id)
                if in_window:
                    member_ids.add(enrolment.member_id)
                    member_months += Decimal(rules.days_in(covered)) / rules.days_in(span)
        month = rules.next_month(month)
    outcomes = []
    for q_start, q_end in quarter_spans:
        counts = arc_outcome_counts(
            member_ids=sorted(quarter_members[q_start]), start=q_start, end=q_end
        )
        outcomes.append(
            QuarterOutcomes(
                start=q_start,
                end=q_end,
                active_arcs=suppress(counts.get("active", 0)),
                achieved_arcs=suppress(counts.get("achieved", 0)),
            )
        )
    invoices = contract.invoices.filter(period__gte=start, period__lte=end)
    billed = invoices.aggregate(total=Sum("total"))["total"] or ZERO
    credited = (
        CreditNote.objects.filter(invoice__in=invoices).aggregate(total=Sum("amount"))["total"]
        or ZERO
    )
    total_billed = quantize_money(billed - credited, contract.currency)
    previous = contract.anchor.previous_spend_per_person_month
    previous_spend = (
        rules.money(previous * member_months, contract.currency) if previous is not None else None
    )
    return ValueReport(
        contract=contract,
        start=start,
        end=end,
        headcount=len(member_ids),
        member_months=member_months.quantize(Decimal("0.01")),
        total_billed=total_billed,
        previous_spend=previous_spend,
        difference=(previous_spend - total_billed) if previous_spend is not None else None,
        quarters=outcomes,
    )


# --- The anchor contact's portal ---------------------------------------------------------------


def value_report_contract_for_user(user, pk: int) -> DirectCareContract:
    """The contract whose value report ``user`` may read: any, for an administrator; their
    own organization's, for an anchor contact (404 for another's)."""
    if has_role(user, Role.ADMINISTRATOR):
        return contract_detail(pk)
    return get_object_or_404(anchor_contracts_for_user(user).prefetch_related("enrolments"), pk=pk)


def contract_roster(contract: DirectCareContract) -> QuerySet[CoverEnrolment]:
    """The people a contract covers, by name, with their cover dates: nothing clinical."""
    return contract.enrolments.select_related("member__user").order_by(
        "member__user__last_name", "member__user__first_name", "covered_from", "pk"
    )


@dataclass
class Outstanding:
    """What a payer still owes on a set of invoices, and which of them are overdue."""

    balances: dict[str, Decimal]
    overdue: list[Invoice]
    unpaid: list[Invoice]


def contract_outstanding(contract: DirectCareContract, *, today: datetime.date) -> Outstanding:
    """The contract's unpaid invoices with their balances (one query), overdue ones first."""
    unpaid = [
        invoice
        for invoice in with_amounts(contract.invoices.filter(status__in=UNPAID_STATUSES)).order_by(
            "due_date", "number"
        )
        if balance_of(invoice) > 0
    ]
    for invoice in unpaid:
        invoice.balance = balance_of(invoice)
        invoice.days_overdue = max((today - invoice.due_date).days, 0)
    return Outstanding(
        balances=balances_by_currency(unpaid),
        overdue=[invoice for invoice in unpaid if invoice.due_date < today],
        unpaid=unpaid,
    )


# --- Account statements -----------------------------------------------------------------------


@dataclass
class StatementEntry:
    date: datetime.date
    kind: str  # "invoice", "payment", "credit_note", "refund"
    reference: str
    description: str
    charge: Decimal = ZERO  # adds to what the payer owes
    received: Decimal = ZERO  # takes off what the payer owes
    balance: Decimal = ZERO  # after this entry


@dataclass
class StatementSection:
    """One currency's movements (a payer billed in two currencies has two sections)."""

    currency: str
    opening: Decimal = ZERO
    entries: list[StatementEntry] = field(default_factory=list)
    closing: Decimal = ZERO

    @property
    def charges(self) -> Decimal:
        return sum((e.charge for e in self.entries), ZERO)

    @property
    def received(self) -> Decimal:
        return sum((e.received for e in self.entries), ZERO)


@dataclass
class AccountStatement:
    payer_name: str
    payer_address: str
    reference: str  # member number or contract reference
    start: datetime.date
    end: datetime.date
    issued_on: datetime.date
    sections: list[StatementSection]


# The order of a day's entries: the invoice before what settles it.
_ENTRY_ORDER = {"invoice": 0, "payment": 1, "credit_note": 2, "refund": 3}


def _statement_sections(
    invoices: QuerySet[Invoice], *, start: datetime.date, end: datetime.date
) -> list[StatementSection]:
    """Opening balance before ``start``, each invoice, payment, credit note and refund dated
    from ``start`` to ``end`` (both included), and the closing balance, per currency.

    A balance is what the payer owes (total - paid - credited + refunded, as on the invoice
    page); negative is money owed back. Eight queries whatever the number of entries.
    """
    ids = invoices.values("pk")
    sections: dict[str, StatementSection] = {}

    def section(currency: str) -> StatementSection:
        return sections.setdefault(currency, StatementSection(currency=currency))

    # Opening: everything dated before the range.
    before = [
        (Invoice.objects.filter(pk__in=ids, issue_date__lt=start), "total", 1),
        (Payment.objects.filter(invoice__in=ids, paid_on__lt=start), "amount", -1),
        (CreditNote.objects.filter(invoice__in=ids, issue_date__lt=start), "amount", -1),
        (Refund.objects.filter(invoice__in=ids, refunded_on__lt=start), "amount", 1),
    ]
    for queryset, column, sign in before:
        for row in queryset.order_by().values("currency").annotate(amount=Sum(column)):
            section(row["currency"]).opening += sign * row["amount"]
    entries: list[tuple[str, StatementEntry]] = []
    for invoice in Invoice.objects.filter(pk__in=ids, issue_date__range=(start, end)):
        entries.append(
            (
                invoice.currency,
                StatementEntry(
                    date=invoice.issue_date,
                    kind="invoice",
                    reference=invoice.number,
                    description=_("Invoice for %(period)s, due %(due)s")
                    % {
                        "period": date_format(invoice.period, "YEAR_MONTH_FORMAT"),
                        "due": date_format(invoice.due_date, "SHORT_DATE_FORMAT"),
                    },
                    charge=invoice.total,
                ),
            )
        )
    payments = Payment.objects.filter(invoice__in=ids, paid_on__range=(start, end))
    for payment in payments.select_related("invoice"):
        entries.append(
            (
                payment.currency,
                StatementEntry(
                    date=payment.paid_on,
                    kind="payment",
                    reference=payment.invoice.number,
                    description=" ".join(
                        filter(
                            None, [_("Payment"), payment.get_method_display(), payment.reference]
                        )
                    ),
                    received=payment.amount,
                ),
            )
        )
    notes = CreditNote.objects.filter(invoice__in=ids, issue_date__range=(start, end))
    for note in notes.select_related("invoice"):
        entries.append(
            (
                note.currency,
                StatementEntry(
                    date=note.issue_date,
                    kind="credit_note",
                    reference=note.number,
                    description=_("Credit note on invoice %(number)s: %(reason)s")
                    % {"number": note.invoice.number, "reason": note.reason},
                    received=note.amount,
                ),
            )
        )
    refunds = Refund.objects.filter(invoice__in=ids, refunded_on__range=(start, end))
    for refund in refunds.select_related("invoice"):
        entries.append(
            (
                refund.currency,
                StatementEntry(
                    date=refund.refunded_on,
                    kind="refund",
                    reference=refund.invoice.number,
                    description=_("Money returned: %(reason)s") % {"reason": refund.reason},
                    charge=refund.amount,
                ),
            )
        )
    entries.sort(key=lambda item: (item[1].date, _ENTRY_ORDER[item[1].kind], item[1].reference))
    for currency, entry in entries:
        section(currency).entries.append(entry)
    for current in sections.values():
        running = current.opening
        for entry in current.entries:
            running += entry.charge - entry.received
            entry.balance = running
        current.closing = running
    return [sections[currency] for currency in sorted(sections)]


def member_account_statement(
    member, *, start: datetime.date, end: datetime.date
) -> AccountStatement:
    """A member's own invoices (their fees; care an anchor pays for is on the anchor's)."""
    return AccountStatement(
        payer_name=member.full_name,
        payer_address=member.address,
        reference=str(member.number or ""),
        start=start,
        end=end,
        issued_on=timezone.localdate(),
        sections=_statement_sections(Invoice.objects.filter(member=member), start=start, end=end),
    )


def contract_account_statement(
    contract: DirectCareContract, *, start: datetime.date, end: datetime.date
) -> AccountStatement:
    anchor = contract.anchor
    return AccountStatement(
        payer_name=anchor.name,
        payer_address=anchor.address,
        reference=contract.reference,
        start=start,
        end=end,
        issued_on=timezone.localdate(),
        sections=_statement_sections(
            Invoice.objects.filter(contract=contract), start=start, end=end
        ),
    )


def contract_for_statement(user, pk: int) -> DirectCareContract:
    """A contract whose statement the user may download: any (administrator), their own
    organization's (anchor contact); someone else's contract is a 404."""
    if has_role(user, Role.ADMINISTRATOR):
        return get_object_or_404(DirectCareContract.objects.select_related("anchor"), pk=pk)
    return anchor_contract_for_user(user, pk)


@dataclass
class CreditNotePreview:
    """What issuing a credit note will do, for the confirmation page."""

    invoice: Invoice
    amount: Decimal
    reason: str
    balance_before: Decimal
    balance_after: Decimal
    creditable: Decimal
    recipient: str

    @property
    def too_much(self) -> bool:
        return self.amount > self.creditable

    @property
    def owed_back_after(self) -> Decimal:
        return -self.balance_after if self.balance_after < 0 else ZERO


def credit_note_preview(
    invoice: Invoice, *, amount: Decimal, reason: str, **_confirmation
) -> CreditNotePreview:
    """``invoice`` annotated by ``with_amounts`` (``invoice_detail``); nothing is written.
    ``credit_note_issue`` checks the same limit again under the invoice's lock."""
    amount = rules.money(amount, invoice.currency)
    balance = balance_of(invoice)
    return CreditNotePreview(
        invoice=invoice,
        amount=amount,
        reason=reason.strip(),
        balance_before=balance,
        balance_after=balance - amount,
        creditable=invoice.total - invoice.credited,
        recipient=invoice.bill_to_email,
    )


# --- Reminders per payer, from the aging report ------------------------------------------------


@dataclass
class PayerOverdue:
    """A payer's overdue invoices on a day, for the reminder confirmation."""

    name: str
    currency: str
    contract_id: int | None
    member_id: int | None
    invoices: list[Invoice]
    recipients: list[str]

    @property
    def total(self) -> Decimal:
        return sum((invoice.balance for invoice in self.invoices), ZERO)


def payer_overdue(
    *, on: datetime.date, currency: str, contract_id: int | None, member_id: int | None
) -> PayerOverdue | None:
    """The invoices of one payer (a contract, or a member) in one currency that are past
    their due date on ``on`` with a balance; None when there is none."""
    if (contract_id is None) == (member_id is None):
        return None
    invoices = list(
        unpaid_invoices_on(on=on)
        .filter(
            currency=currency,
            contract_id=contract_id,
            member_id=member_id,
            due_date__lt=on,
        )
        .order_by("due_date", "number")
    )
    if not invoices:
        return None
    for invoice in invoices:
        invoice.days_overdue = (on - invoice.due_date).days
    return PayerOverdue(
        name=invoices[-1].bill_to_name,
        currency=currency,
        contract_id=contract_id,
        member_id=member_id,
        invoices=invoices,
        recipients=sorted({invoice.bill_to_email for invoice in invoices}),
    )
