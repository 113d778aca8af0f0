"""Every billing write: contracts, cover, invoice runs, payments, credit notes, delivery."""

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from billing import rules, selectors
from billing.models import (
    UNPAID_STATUSES,
    AnchorOrganization,
    BillingEvent,
    ContractStatus,
    CoverEnrolment,
    CreditNote,
    DirectCareContract,
    DocumentNumberCounter,
    DocumentSeries,
    EmailKind,
    FederationStatementDocument,
    Invoice,
    InvoiceEmail,
    InvoiceLine,
    InvoiceRun,
    InvoiceRunPreview,
    InvoiceRunPreviewItem,
    InvoiceStatus,
    PayerKind,
    Payment,
    PreviewStatus,
    Refund,
    RunStatus,
    StatementStatus,
)
from clinic.bulk import insert_rows
from clinic.delivery import SENDABLE, DeliveryStatus, deliver_once, delivery_requeue
from clinic.email import clinic_email
from clinic.links import absolute
from clinic.money import quantize_money
from clinic.params import MAX_INT, id_param
from members.models import Member

logger = logging.getLogger(__name__)
ZERO = Decimal("0.00")


# --- Anchors and contracts ------------------------------------------------------------------


@transaction.atomic
def anchor_save(*, anchor: AnchorOrganization, contacts=None, actor=None) -> AnchorOrganization:
    anchor.full_clean()
    anchor.save()
    if contacts is not None:
        anchor.contacts.set(contacts)
    BillingEvent.objects.create(action="anchor_saved", actor=actor, detail=anchor.name)
    return anchor


def _overlapping_active(contract: DirectCareContract):
    others = DirectCareContract.objects.filter(
        anchor=contract.anchor_id, status=ContractStatus.ACTIVE
    ).exclude(pk=contract.pk)
    others = others.filter(Q(end_date__isnull=True) | Q(end_date__gte=contract.start_date))
    if contract.end_date:
        others = others.filter(start_date__lte=contract.end_date)
    return others


@transaction.atomic
def contract_save(*, contract: DirectCareContract, actor=None) -> DirectCareContract:
    """Create a contract, or correct a draft one (its status changes by transition only)."""
    if contract.pk is not None:
        # Re-read under a lock: the page checked "draft" on a copy read earlier, and the
        # contract may have been activated since; its terms are then what was invoiced.
        saved = DirectCareContract.objects.select_for_update().get(pk=contract.pk)
        if saved.status != ContractStatus.DRAFT:
            raise ValidationError(_("Only a draft contract can be changed."))
        contract.status = saved.status
    return _contract_write(contract=contract, actor=actor)


def _contract_write(*, contract: DirectCareContract, actor=None) -> DirectCareContract:
    contract.currency = (contract.currency or settings.CLINIC_CURRENCY).upper()
    if contract.rate_per_member_month is not None:
        contract.rate_per_member_month = quantize_money(
            contract.rate_per_member_month, contract.currency
        )
    contract.full_clean()
    if contract.status == ContractStatus.ACTIVE:
        # Lock the anchor so two activations cannot both pass the overlap check.
        AnchorOrganization.objects.select_for_update().get(pk=contract.anchor_id)
        if _overlapping_active(contract).exists():
            raise ValidationError(
                _("%(anchor)s already has an active contract for some of these dates.")
                % {"anchor": contract.anchor}
            )
    contract.save()
    BillingEvent.objects.create(
        action="contract_saved", contract=contract, actor=actor, detail=contract.reference
    )
    return contract


CONTRACT_TRANSITIONS = {
    ContractStatus.DRAFT: {ContractStatus.ACTIVE},
    ContractStatus.ACTIVE: {ContractStatus.ENDED},
    ContractStatus.ENDED: set(),
}


@transaction.atomic
def contract_transition(
    *,
    contract: DirectCareContract,
    to: str,
    actor=None,
    end_date: datetime.date | None = None,
) -> DirectCareContract:
    contract = DirectCareContract.objects.select_for_update().get(pk=contract.pk)
    if to not in CONTRACT_TRANSITIONS[ContractStatus(contract.status)]:
        raise ValidationError(
            _("A %(status)s contract cannot become %(to)s.")
            % {"status": contract.get_status_display(), "to": ContractStatus(to).label}
        )
    if to == ContractStatus.ENDED:
        if end_date is None:
            raise ValidationError(_("Give the date the contract ends."))
        if end_date < contract.start_date:
            raise ValidationError(_("A contract cannot end before it starts."))
        billed_after = (
            Invoice.objects.filter(contract=contract, lines__end__gt=end_date)
            .order_by("period")
            .first()
        )
        if billed_after is not None:
            raise ValidationError(
                _(
                    "Invoice %(number)s already bills this contract for %(period)s, after "
                    "%(date)s; a contract cannot end inside an invoiced period. End it on or "
                    "after the last invoiced day, and correct later days with a credit note."
                )
                % {
                    "number": billed_after.number,
                    "period": date_format(billed_after.period, "YEAR_MONTH_FORMAT"),
                    "date": date_format(end_date, "SHORT_DATE_FORMAT"),
                }
            )
        contract.end_date = end_date
        # Cover cannot outlast the contract: cover that would start after the end is
        # removed (it never billed a day), the rest ends with the contract.
        _covers_end(contract.enrolments.all(), on=end_date, actor=actor)
    contract.status = to
    _contract_write(contract=contract, actor=actor)
    BillingEvent.objects.create(
        action=f"contract_{to}", contract=contract, actor=actor, detail=contract.reference
    )
    return contract


def _covers_end(enrolments, *, on: datetime.date, actor=None) -> None:
    """End ``enrolments`` on ``on``: those starting later are removed, with an audit row."""
    later = list(enrolments.filter(covered_from__gt=on).select_related("contract"))
    BillingEvent.objects.bulk_create(
        [
            BillingEvent(
                action="cover_removed",
                contract=enrolment.contract,
                actor=actor,
                detail=f"member {enrolment.member_id} from {enrolment.covered_from}",
            )
            for enrolment in later
        ]
    )
    CoverEnrolment.objects.filter(pk__in=[e.pk for e in later]).delete()
    ending = enrolments.filter(Q(covered_to__isnull=True) | Q(covered_to__gt=on))
    BillingEvent.objects.bulk_create(
        [
            BillingEvent(
                action="cover_ended",
                contract_id=contract_id,
                actor=actor,
                detail=f"member {member_id} to {on}",
            )
            for contract_id, member_id in ending.values_list("contract_id", "member_id")
        ]
    )
    ending.update(covered_to=on)


@transaction.atomic
def member_billing_end(*, member_id: int, on: datetime.date, actor=None) -> None:
    """Billing's side of a member leaving (``members.services.member_cease``): every anchor
    cover of the member ends on ``on``; cover starting later is removed.

    The caller holds the member's row lock, as every cover write does, so no cover can be
    added beside this. Invoices already issued stay as they are: days they bill after
    ``on`` are corrected with credit notes (``selectors.invoices_billing_member_after``).
    """
    _covers_end(CoverEnrolment.objects.filter(member_id=member_id), on=on, actor=actor)


def _refuse_invoiced(
    *,
    member_id: int,
    start: datetime.date,
    end: datetime.date | None = None,
    contract_id: int | None = None,
    fee: bool = False,
) -> None:
    """Refuse a cover or fee-plan change on days an issued invoice already bills (or a run
    already passed): backdated changes are refused, never silently lost or billed twice."""
    invoice = selectors.invoice_billing_member_days(
        member_id=member_id, start=start, end=end, contract_id=contract_id, fee=fee
    )
    if invoice is not None:
        raise ValidationError(
            _(
                "The period %(period)s is already invoiced (invoice %(number)s); a change "
                "from %(date)s would make it wrong. Choose a date after that period."
            )
            % {
                "period": date_format(invoice.period, "YEAR_MONTH_FORMAT"),
                "number": invoice.number,
                "date": date_format(start, "SHORT_DATE_FORMAT"),
            }
        )
    # A month whose run was made without an invoice to this member (no plan then) or
    # contract (no cover then) is passed too: a change in it would never be billed.
    run_period = selectors.member_run_made(start=start, end=end) if fee else None
    if contract_id is not None:
        # And a month the run for every contract passed while this one had no invoice.
        run_period = selectors.member_run_made(
            start=start, end=end, action=selectors.CONTRACT_RUN_COMPLETED
        )
    if run_period is not None:
        raise ValidationError(
            _(
                "The invoice run for %(period)s has been made; a change from %(date)s "
                "would never be billed. Choose a date after that period."
            )
            % {
                "period": date_format(run_period, "YEAR_MONTH_FORMAT"),
                "date": date_format(start, "SHORT_DATE_FORMAT"),
            }
        )


def member_billing_change_check(
    *, member_id: int, start: datetime.date, end: datetime.date | None = None, fee: bool = False
) -> None:
    """For members' fee-plan changes: refused (ValidationError) inside an invoiced period."""
    _refuse_invoiced(member_id=member_id, start=start, end=end, fee=fee)


def _check_enrolment(*, contract, member, covered_from, covered_to, exclude_pk=None) -> None:
    if covered_to and covered_to < covered_from:
        raise ValidationError(_("Cover cannot end before it starts."))
    if covered_from < contract.start_date or (
        contract.end_date and (covered_to is None or covered_to > contract.end_date)
    ):
        if contract.end_date:
            raise ValidationError(
                _("Cover must be within the contract's dates (%(start)s to %(end)s).")
                % {"start": contract.start_date, "end": contract.end_date}
            )
        if covered_from < contract.start_date:
            raise ValidationError(
                _("Cover cannot start before the contract (%(start)s).")
                % {"start": contract.start_date}
            )
    overlapping = CoverEnrolment.objects.filter(member=member).exclude(pk=exclude_pk)
    overlapping = overlapping.filter(Q(covered_to__isnull=True) | Q(covered_to__gte=covered_from))
    if covered_to:
        overlapping = overlapping.filter(covered_from__lte=covered_to)
    if overlapping.exists():
        raise ValidationError(
            _("%(member)s is already covered on some of these days.") % {"member": member}
        )


@transaction.atomic
def enrolment_add(
    *,
    contract: DirectCareContract,
    member,
    covered_from: datetime.date,
    covered_to: datetime.date | None = None,
    actor=None,
) -> CoverEnrolment:
    # Lock the member, then re-read the contract: two covers added at once for one member
    # (on any contracts) queue here, and the second sees the first when checking overlap.
    Member.objects.select_for_update().get(pk=member.pk)
    # And the contract: one being ended at the same moment cannot gain cover past its end.
    contract = DirectCareContract.objects.select_for_update().get(pk=contract.pk)
    if contract.status == ContractStatus.ENDED:
        raise ValidationError(_("This contract has ended; no one can be added to it."))
    _check_enrolment(
        contract=contract, member=member, covered_from=covered_from, covered_to=covered_to
    )
    _refuse_invoiced(
        member_id=member.pk, start=covered_from, end=covered_to, contract_id=contract.pk
    )
    enrolment = CoverEnrolment.objects.create(
        contract=contract, member=member, covered_from=covered_from, covered_to=covered_to
    )
    BillingEvent.objects.create(
        action="cover_added", contract=contract, actor=actor, detail=f"member {member.pk}"
    )
    return enrolment


@transaction.atomic
def enrolment_end(
    *, enrolment: CoverEnrolment, covered_to: datetime.date, actor=None
) -> CoverEnrolment:
    Member.objects.select_for_update().get(pk=enrolment.member_id)
    enrolment = CoverEnrolment.objects.select_related("contract").get(pk=enrolment.pk)
    if covered_to < enrolment.covered_from:
        raise ValidationError(_("Cover cannot end before it starts."))
    if enrolment.covered_to and covered_to > enrolment.covered_to:
        raise ValidationError(_("This cover already ends earlier."))
    _refuse_invoiced(
        member_id=enrolment.member_id,
        start=covered_to + datetime.timedelta(days=1),
        end=enrolment.covered_to,
        contract_id=enrolment.contract_id,
    )
    enrolment.covered_to = covered_to
    enrolment.save(update_fields=["covered_to"])
    BillingEvent.objects.create(
        action="cover_ended",
        contract=enrolment.contract,
        actor=actor,
        detail=f"member {enrolment.member_id} to {covered_to}",
    )
    return enrolment


@dataclass
class RosterRow:
    line: int
    member: object
    covered_from: datetime.date
    covered_to: datetime.date | None


def roster_parse(*, contract: DirectCareContract, text: str) -> tuple[list[RosterRow], list[str]]:
    """Read a roster CSV (member_number or email, covered_from, covered_to) into rows and
    errors named by row and column. Nothing is written."""
    import csv
    import io

    from members.models import Member

    rows: list[RosterRow] = []
    errors: list[str] = []
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    headers = {h.strip().lower() for h in (reader.fieldnames or [])}
    if "covered_from" not in headers or not headers & {"member_number", "email"}:
        return [], [
            _(
                "The first row must name the columns member_number (or email), "
                "covered_from and optionally covered_to."
            )
        ]
    raw = [
        ({k.strip().lower(): (v or "").strip() for k, v in r.items() if k}, n)
        for n, r in enumerate(reader, start=2)
    ]
    # Member numbers are an integer column: anything not a plain number it can hold (huge,
    # signed, non-ASCII digits) is simply no member, never a failing query.
    numbers = {id_param(r.get("member_number"), max_value=MAX_INT) for r, _n in raw} - {None}
    emails = {r["email"].lower() for r, _n in raw if r.get("email")}
    members = Member.objects.filter(
        Q(number__in=sorted(numbers)) | Q(user__email__in=emails)
    ).select_related("user")
    by_number = {m.number: m for m in members}
    by_email = {m.user.email.lower(): m for m in members}
    seen: set[int] = set()
    for values, line in raw:
        member = None
        if values.get("member_number"):
            number = values["member_number"]
            member = by_number.get(id_param(number, max_value=MAX_INT))
            if member is None:
                errors.append(
                    _("Row %(row)d, member_number: no member number %(value)s.")
                    % {"row": line, "value": number}
                )
                continue
        elif values.get("email"):
            member = by_email.get(values["email"].lower())
            if member is None:
                errors.append(
                    _("Row %(row)d, email: no member with email %(value)s.")
                    % {"row": line, "value": values["email"]}
                )
                continue
        else:
            errors.append(_("Row %(row)d, member_number: missing.") % {"row": line})
            continue
        dates = {}
        for column in ("covered_from", "covered_to"):
            value = values.get(column, "")
            if not value:
                dates[column] = None
                continue
            try:
                dates[column] = datetime.date.fromisoformat(value)
            except ValueError:
                errors.append(
                    _("Row %(row)d, %(column)s: %(value)s is not a date (YYYY-MM-DD).")
                    % {"row": line, "column": column, "value": value}
                )
                dates[column] = "bad"
        if "bad" in dates.values():
            continue
        if dates["covered_from"] is None:
            errors.append(_("Row %(row)d, covered_from: missing.") % {"row": line})
            continue
        if member.pk in seen:
            errors.append(
                _("Row %(row)d, member_number: %(member)s is listed twice.")
                % {"row": line, "member": member}
            )
            continue
        seen.add(member.pk)
        try:
            _check_enrolment(
                contract=contract,
                member=member,
                covered_from=dates["covered_from"],
                covered_to=dates["covered_to"],
            )
            _refuse_invoiced(
                member_id=member.pk,
                start=dates["covered_from"],
                end=dates["covered_to"],
                contract_id=contract.pk,
            )
        except ValidationError as error:
            errors.append(_("Row %(row)d: %(error)s") % {"row": line, "error": error.messages[0]})
            continue
        rows.append(RosterRow(line, member, dates["covered_from"], dates["covered_to"]))
    if not rows and not errors:
        errors.append(_("The file has no rows."))
    return rows, errors


@transaction.atomic
def roster_import(*, contract: DirectCareContract, text: str, actor=None) -> int:
    """Add every row of a roster, or none of them."""
    rows, errors = roster_parse(contract=contract, text=text)
    if errors:
        raise ValidationError(errors)
    for row in rows:
        enrolment_add(
            contract=contract,
            member=row.member,
            covered_from=row.covered_from,
            covered_to=row.covered_to,
            actor=actor,
        )
    return len(rows)


# --- Document numbers -------------------------------------------------------------------------


def _lock_counter(*, series: str, year: int) -> DocumentNumberCounter:
    """The counter of a series and year, locked until the caller's transaction ends."""
    counter, _created = DocumentNumberCounter.objects.select_for_update().get_or_create(
        series=series, year=year
    )
    return counter


def _take_numbers(
    *, series: str, year: int, count: int, counter: DocumentNumberCounter | None = None
) -> list[str]:
    """The next ``count`` numbers of a series, in the caller's transaction. The counter row
    stays locked until it commits; a rollback gives the numbers back, so there is no gap.
    ``counter``: the row, if the caller already holds its lock (``_lock_counter``)."""
    if counter is None:
        counter = _lock_counter(series=series, year=year)
    if not count:
        return []
    first = counter.last_number + 1
    counter.last_number += count
    counter.save(update_fields=["last_number"])
    prefix = "CN-" if series == DocumentSeries.CREDIT_NOTE else ""
    return [f"{prefix}{year}-{n:06d}" for n in range(first, first + count)]


def _last_issue_date(model, year: int) -> datetime.date | None:
    """The latest date in a series and year; read under the counter's lock."""
    return model.objects.filter(issue_date__year=year).aggregate(last=Max("issue_date"))["last"]


def _not_before_last_issued(draft, last: datetime.date | None) -> None:
    """Date a draft no earlier than the last document numbered in its series.

    Numbers are taken in issue-date order, so an invoice dated before one already
    numbered (a run for an earlier period after a later one, or after a contract invoice
    dated on a billing day ahead) would get a higher number and an earlier date. It is
    dated on the last issue date instead, its due date moved by as many days.
    """
    if last is not None and draft.issue_date < last:
        draft.due_date += last - draft.issue_date
        draft.issue_date = last


# --- Invoice runs ---------------------------------------------------------------------------


@dataclass
class RunResult:
    created: list[int]
    already_invoiced: int
    # Invoices held back, with why (e.g. a member's fee plans in two currencies).
    problems: list[str] = field(default_factory=list)


def _already_issued(drafts: list[selectors.InvoiceDraft]) -> set[tuple]:
    """The (period, contract, member) keys of these drafts that already have an invoice.

    Bounded to the batch's own contracts and members (each through its unique
    (contract or member, period) index), not the whole period: re-reading the period
    every batch made a run quadratic in its size.
    """
    wanted = Q(pk__in=[])
    for period in {d.period for d in drafts}:
        contracts = [d.contract_id for d in drafts if d.period == period and d.contract_id]
        members = [d.member_id for d in drafts if d.period == period and d.member_id]
        if contracts:
            wanted |= Q(period=period, contract_id__in=contracts)
        if members:
            wanted |= Q(period=period, member_id__in=members)
    return set(Invoice.objects.filter(wanted).values_list("period", "contract_id", "member_id"))


# The columns the run writes, in the order of its rows (``clinic.bulk.insert_rows``).
INVOICE_COLUMNS = (
    "number",
    "contract_id",
    "member_id",
    "period",
    "issue_date",
    "due_date",
    "currency",
    "total",
    "bill_to_name",
    "bill_to_email",
    "bill_to_address",
    "bill_to_tax_id",
)
LINE_COLUMNS = (
    "invoice_id",
    "description",
    "member_id",
    "start",
    "end",
    "days",
    "days_in_period",
    "unit_amount",
    "amount",
)


def _issue_batch(drafts: list[selectors.InvoiceDraft]) -> list[int]:
    """Issue a batch of drafted invoices in one transaction with bulk inserts."""
    with transaction.atomic():
        years = sorted({d.issue_date.year for d in drafts})
        # Taking the counter lock first serialises concurrent runs; re-reading what exists
        # after it means a concurrent or earlier run's invoices are never issued twice.
        to_issue: list[selectors.InvoiceDraft] = []
        numbers: list[str] = []
        for year in years:
            in_year = [d for d in drafts if d.issue_date.year == year]
            counter = _lock_counter(series=DocumentSeries.INVOICE, year=year)
            done = _already_issued(in_year)
            in_year = [d for d in in_year if (d.period, d.contract_id, d.member_id) not in done]
            # Numbers follow issue dates: number in date order, and date no invoice before
            # the last one already numbered in the series (see _not_before_last_issued).
            last = _last_issue_date(Invoice, year)
            in_year.sort(key=lambda d: d.issue_date)
            for draft in in_year:
                _not_before_last_issued(draft, last)
            to_issue += in_year
            numbers += _take_numbers(
                series=DocumentSeries.INVOICE, year=year, count=len(in_year), counter=counter
            )
        # Plain rows, not models: see clinic.bulk.
        ids = insert_rows(
            Invoice,
            INVOICE_COLUMNS,
            [
                (
                    number,
                    d.contract_id,
                    d.member_id,
                    d.period,
                    d.issue_date,
                    d.due_date,
                    d.currency,
                    d.total,
                    d.bill_to_name,
                    d.bill_to_email,
                    d.bill_to_address,
                    d.bill_to_tax_id,
                )
                for d, number in zip(to_issue, numbers, strict=True)
            ],
        )
        insert_rows(
            InvoiceLine,
            LINE_COLUMNS,
            [
                (
                    pk,
                    line.description,
                    line.member_id,
                    line.start,
                    line.end,
                    line.days,
                    line.days_in_period,
                    line.unit_amount,
                    line.amount,
                )
                for pk, draft in zip(ids, to_issue, strict=True)
                for line in draft.lines
            ],
        )
        insert_rows(
            BillingEvent,
            ("action", "invoice_id", "contract_id", "detail"),
            [
                ("invoice_issued", pk, draft.contract_id, number)
                for pk, draft, number in zip(ids, to_issue, numbers, strict=True)
            ],
        )
        transaction.on_commit(lambda: _queue_deliveries(ids))
    return ids


def _queue_deliveries(invoice_ids: list[int]) -> None:
    # One message per batch, fanned out to one task per invoice by the worker: publishing
    # a task per invoice from the run took about half of its time (1,601 invoices: 2.4 s
    # of 5.3 s under cProfile).
    from billing.tasks import deliver_invoices

    deliver_invoices.delay(invoice_ids)


# Invoices issued per committed batch. Each batch costs a fixed seven queries, a commit and
# a delivery message besides its rows: 1,601 invoices in 9 batches of 200 took 0.38-0.60 s,
# in 4 of 500 0.34-0.40 s (issuing alone, measured alternately on the same data). A batch
# holds the invoice counter's lock while it is written (about 0.1 s at 500), which only
# another run waits for.
RUN_BATCH_SIZE = 500


def invoice_run(
    *,
    period: datetime.date,
    today: datetime.date,
    contract_ids: list[int] | None = None,
    include_members: bool = True,
    batch_size: int = RUN_BATCH_SIZE,
    after_batch: Callable[[list[int]], None] | None = None,
    on_drafted: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Issue the invoices of a billing period (a calendar month).

    Each batch commits on its own, so a run that stops half-way keeps what it issued and a
    rerun issues only the rest: the unique (contract or member, period) constraints and the
    re-read under the counter lock mean no invoice is ever issued twice, and numbers taken
    in a rolled-back batch are given back. ``after_batch`` is told each committed batch,
    ``on_drafted`` the number of invoices and batches before the first one.
    """
    preview = selectors.invoice_run_preview(
        period=period, today=today, contract_ids=contract_ids, include_members=include_members
    )
    created: list[int] = []
    # Earlier-dated drafts first, so batches take numbers in issue-date order.
    drafts = sorted(preview.drafts, key=lambda draft: draft.issue_date)
    if on_drafted:
        on_drafted(len(drafts), -(-len(drafts) // batch_size))
    for start in range(0, len(drafts), batch_size):
        ids = _issue_batch(drafts[start : start + batch_size])
        created.extend(ids)
        if after_batch:
            after_batch(ids)
    logger.info("Invoice run for %s issued %d invoices", period, len(created))
    # Every member's fee (every contract) for the period has been through the run: later
    # fee-plan or cover changes in it are refused (``selectors.member_run_made``), not
    # silently never billed.
    completed = [selectors.MEMBER_RUN_COMPLETED] if include_members else []
    if contract_ids is None:
        completed.append(selectors.CONTRACT_RUN_COMPLETED)
    detail = rules.month_start(period).isoformat()
    # Recorded once per period: a run made again (the periodic run, a retry) adds nothing.
    recorded = set(
        BillingEvent.objects.filter(action__in=completed, detail=detail).values_list(
            "action", flat=True
        )
    )
    BillingEvent.objects.bulk_create(
        [BillingEvent(action=a, detail=detail) for a in completed if a not in recorded]
    )
    if preview.problems:
        for problem in preview.problems:
            logger.warning("Invoice run for %s held: %s", period, problem)
        with transaction.atomic():
            BillingEvent.objects.bulk_create(
                [
                    BillingEvent(action="invoice_held", detail=problem[:255])
                    for problem in preview.problems
                ]
            )
    return RunResult(
        created=created, already_invoiced=preview.already_invoiced, problems=preview.problems
    )


# --- The run from the page: preview, confirm, progress ----------------------------------------

# Previews are working copies: those older than this are deleted when a new one is asked for.
PREVIEW_KEPT_FOR = datetime.timedelta(days=1)


@transaction.atomic
def invoice_run_preview_request(
    *,
    period: datetime.date,
    contract: DirectCareContract | None = None,
    include_members: bool = True,
    actor=None,
) -> InvoiceRunPreview:
    """Ask the worker to draft a run's invoices into a stored preview (the page shows it
    when ready): drafted in the request, the preview took 2.6 s at 10,000 members (README,
    Performance)."""
    now = timezone.now()
    InvoiceRunPreview.objects.filter(requested_at__lt=now - PREVIEW_KEPT_FOR).delete()
    preview = InvoiceRunPreview.objects.create(
        period=rules.month_start(period),
        contract=contract,
        include_members=include_members,
        requested_by=actor,
        requested_at=now,
    )
    preview_id = preview.pk
    transaction.on_commit(lambda: _queue_run_preview(preview_id))
    return preview


def _queue_run_preview(preview_id: int) -> None:
    from billing.tasks import prepare_invoice_run_preview

    prepare_invoice_run_preview.delay(preview_id)


def invoice_run_preview_prepare(*, preview_id: int, today: datetime.date) -> InvoiceRunPreview:
    """Draft the run with the run's own drafting and store one row per invoice (held ones
    too, with why). Idempotent: a preview already prepared is kept."""
    preview = InvoiceRunPreview.objects.get(pk=preview_id)
    if preview.status == PreviewStatus.READY:
        return preview
    try:
        drafted = selectors.invoice_run_preview(
            period=preview.period,
            today=today,
            contract_ids=preview.contract_ids,
            include_members=preview.include_members,
        )
        items = [
            InvoiceRunPreviewItem(
                preview=preview,
                payer_kind=PayerKind.CONTRACT if draft.contract_id else PayerKind.MEMBER,
                contract_id=draft.contract_id,
                member_id=draft.member_id,
                bill_to_name=draft.bill_to_name[:200],
                currency=draft.currency,
                total=draft.total,
                line_count=len(draft.lines),
            )
            for draft in drafted.drafts
        ] + [
            InvoiceRunPreviewItem(
                preview=preview,
                payer_kind=PayerKind.MEMBER,
                member_id=held.member_id,
                bill_to_name=held.bill_to_name[:200],
                held=True,
                problem=held.problem[:255],
            )
            for held in drafted.held
        ]
        with transaction.atomic():
            # A duplicate task (redelivered after a worker died) replaces, never doubles.
            InvoiceRunPreviewItem.objects.filter(preview_id=preview_id).delete()
            InvoiceRunPreviewItem.objects.bulk_create(items, batch_size=2000)
            InvoiceRunPreview.objects.filter(pk=preview_id).update(
                status=PreviewStatus.READY,
                prepared_at=timezone.now(),
                already_invoiced=drafted.already_invoiced,
                last_error="",
            )
    except Exception as error:
        InvoiceRunPreview.objects.filter(pk=preview_id).update(
            status=PreviewStatus.FAILED, last_error=str(error)[:255]
        )
        raise
    preview.refresh_from_db()
    return preview


def invoice_run_start(*, preview: InvoiceRunPreview, actor=None) -> InvoiceRun:
    """Start the confirmed run in the worker; the page then shows its progress.

    One unfinished run per period (a database constraint): a second start while one is
    queued or running (a double click, another administrator) gets that run back.
    """
    if preview.status != PreviewStatus.READY:
        raise ValidationError(_("The preview is not ready yet."))
    previewed = preview.items.filter(held=False).count()
    try:
        with transaction.atomic():
            run = InvoiceRun.objects.create(
                period=preview.period,
                contract=preview.contract,
                include_members=preview.include_members,
                previewed=previewed,
                requested_by=actor,
                requested_at=timezone.now(),
            )
            BillingEvent.objects.create(
                action="invoice_run_started",
                contract=preview.contract,
                actor=actor,
                detail=f"{preview.period:%Y-%m}",
            )
            run_id = run.pk
            transaction.on_commit(lambda: _queue_invoice_run(run_id))
    except IntegrityError:
        return InvoiceRun.objects.get(
            period=preview.period, status__in=(RunStatus.QUEUED, RunStatus.RUNNING)
        )
    return run


def _queue_invoice_run(run_id: int) -> None:
    from billing.tasks import execute_invoice_run

    execute_invoice_run.delay(run_id)


def invoice_run_execute(*, run_id: int, today: datetime.date) -> InvoiceRun:
    """Run a started run, recording its progress after each committed batch.

    A finished run is left as it is; a run started again after its worker died issues only
    the rest (``invoice_run`` never issues an invoice twice) and counts on from there.
    """
    run = InvoiceRun.objects.get(pk=run_id)
    if run.done:
        return run
    InvoiceRun.objects.filter(pk=run_id).update(status=RunStatus.RUNNING, started_at=timezone.now())
    runs = InvoiceRun.objects.filter(pk=run_id)

    def drafted(count: int, batches: int) -> None:
        runs.update(expected=F("issued") + count, batches_total=F("batches_done") + batches)

    def batch_done(ids: list[int]) -> None:
        runs.update(issued=F("issued") + len(ids), batches_done=F("batches_done") + 1)

    try:
        result = invoice_run(
            period=run.period,
            today=today,
            contract_ids=run.contract_ids,
            include_members=run.include_members,
            after_batch=batch_done,
            on_drafted=drafted,
        )
    except Exception as error:
        runs.update(
            status=RunStatus.FAILED, finished_at=timezone.now(), last_error=str(error)[:255]
        )
        raise
    runs.update(
        status=RunStatus.FINISHED,
        finished_at=timezone.now(),
        already_invoiced=result.already_invoiced,
        problems=result.problems,
    )
    run.refresh_from_db()
    return run


# --- Status, payments and credit notes ------------------------------------------------------

INVOICE_TRANSITIONS = {
    InvoiceStatus.ISSUED: {
        InvoiceStatus.PARTIALLY_PAID,
        InvoiceStatus.PAID,
        InvoiceStatus.OVERDUE,
        InvoiceStatus.CREDITED,
    },
    InvoiceStatus.PARTIALLY_PAID: {
        InvoiceStatus.PAID,
        InvoiceStatus.OVERDUE,
        InvoiceStatus.CREDITED,
    },
    InvoiceStatus.OVERDUE: {InvoiceStatus.PAID, InvoiceStatus.CREDITED},
    InvoiceStatus.PAID: set(),
    InvoiceStatus.CREDITED: set(),
}


@transaction.atomic
def invoice_transition(*, invoice: Invoice, to: str, actor=None, detail: str = "") -> Invoice:
    """The one way an invoice's status changes; refuses moves the rules do not allow."""
    if to == invoice.status:
        return invoice
    if to not in INVOICE_TRANSITIONS[InvoiceStatus(invoice.status)]:
        raise ValidationError(
            _("Invoice %(number)s is %(status)s and cannot become %(to)s.")
            % {
                "number": invoice.number,
                "status": invoice.get_status_display(),
                "to": InvoiceStatus(to).label,
            }
        )
    invoice.status = to
    invoice.save(update_fields=["status"])
    BillingEvent.objects.create(
        action=f"invoice_{to}", invoice=invoice, actor=actor, detail=detail or invoice.number
    )
    return invoice


def invoice_balance(invoice: Invoice) -> tuple[Decimal, Decimal, Decimal]:
    """(paid, credited, balance) read from the database.

    The balance is total - paid - credited + refunded. It is negative only when a credit
    note took off more than was left to pay: money the clinic owes back (``refund_record``).
    """
    fresh = selectors.with_amounts(Invoice.objects.filter(pk=invoice.pk)).get()
    # Sums read back with the columns' four decimals; the currency's own are kept.
    return (
        quantize_money(fresh.paid, fresh.currency),
        quantize_money(fresh.credited, fresh.currency),
        selectors.balance_of(fresh),
    )


def _settle(*, invoice: Invoice, today: datetime.date, actor=None) -> Invoice:
    paid, _credited, balance = invoice_balance(invoice)
    if balance <= 0:
        target = InvoiceStatus.CREDITED if paid == 0 else InvoiceStatus.PAID
    elif invoice.status == InvoiceStatus.OVERDUE or invoice.due_date < today:
        target = InvoiceStatus.OVERDUE
    elif paid > 0:
        target = InvoiceStatus.PARTIALLY_PAID
    else:
        target = InvoiceStatus(invoice.status)
    return invoice_transition(invoice=invoice, to=target, actor=actor)


@transaction.atomic
def payment_record(
    *,
    invoice: Invoice,
    amount: Decimal,
    paid_on: datetime.date,
    method: str,
    reference: str = "",
    actor=None,
    today: datetime.date | None = None,
) -> Payment:
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    amount = rules.money(amount, invoice.currency)
    if amount <= 0:
        raise ValidationError(_("A payment must be more than zero."))
    if invoice.status in (InvoiceStatus.PAID, InvoiceStatus.CREDITED):
        raise ValidationError(
            _("Invoice %(number)s is %(status)s; nothing is due on it.")
            % {"number": invoice.number, "status": invoice.get_status_display().lower()}
        )
    _paid, _credited, balance = invoice_balance(invoice)
    if amount > balance:
        raise ValidationError(
            _(
                "This payment of %(amount)s %(currency)s is more than the %(balance)s "
                "%(currency)s still due on invoice %(number)s; overpayments are refused. "
                "Record at most the amount due."
            )
            % {
                "amount": amount,
                "balance": balance,
                "currency": invoice.currency,
                "number": invoice.number,
            }
        )
    payment = Payment.objects.create(
        invoice=invoice,
        amount=amount,
        currency=invoice.currency,
        paid_on=paid_on,
        method=method,
        reference=reference,
        recorded_by=actor,
    )
    BillingEvent.objects.create(
        action="payment_recorded", invoice=invoice, actor=actor, detail=f"{amount}"
    )
    _settle(invoice=invoice, today=today or timezone.localdate(), actor=actor)
    return payment


@transaction.atomic
def credit_note_issue(
    *,
    invoice: Invoice,
    amount: Decimal,
    reason: str,
    actor=None,
    today: datetime.date | None = None,
    credited_before: Decimal | None = None,
) -> CreditNote:
    """Correct an issued invoice by crediting part or all of what is still due on it.

    ``credited_before`` is what the person confirming saw credited: if a credit note was
    issued since (a second click, another tab), this one is refused, not credited twice.
    """
    today = today or timezone.localdate()
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    amount = rules.money(amount, invoice.currency)
    if amount <= 0:
        raise ValidationError(_("A credit note must be for more than zero."))
    if not reason.strip():
        raise ValidationError(_("Give the reason for the credit note."))
    # A paid invoice can be corrected too: the credit then becomes money owed back,
    # returned with ``refund_record``. What was never billed cannot be credited.
    _paid, credited, _balance = invoice_balance(invoice)
    if credited_before is not None and credited != credited_before:
        raise ValidationError(
            _(
                "A credit note was issued on invoice %(number)s since this one was confirmed; "
                "nothing more was credited. Check the invoice before crediting again."
            )
            % {"number": invoice.number}
        )
    creditable = invoice.total - credited
    if amount > creditable:
        raise ValidationError(
            _(
                "Only the %(creditable)s %(currency)s not yet credited on invoice "
                "%(number)s can be credited."
            )
            % {"creditable": creditable, "currency": invoice.currency, "number": invoice.number}
        )
    (number,) = _take_numbers(series=DocumentSeries.CREDIT_NOTE, year=today.year, count=1)
    # Under the counter lock: never dated before the last credit note numbered this year.
    issue_date = max(today, _last_issue_date(CreditNote, today.year) or today)
    note = CreditNote.objects.create(
        number=number,
        invoice=invoice,
        issue_date=issue_date,
        amount=amount,
        currency=invoice.currency,
        reason=reason.strip(),
        created_by=actor,
    )
    BillingEvent.objects.create(
        action="credit_note_issued", invoice=invoice, actor=actor, detail=number
    )
    _settle(invoice=invoice, today=today, actor=actor)
    note_id = note.pk
    transaction.on_commit(lambda: _queue_credit_note(note_id))
    return note


@transaction.atomic
def refund_record(
    *,
    invoice: Invoice,
    amount: Decimal,
    refunded_on: datetime.date,
    method: str,
    reason: str,
    reference: str = "",
    payment: Payment | None = None,
    actor=None,
    today: datetime.date | None = None,
) -> Refund:
    """Record money paid back on an invoice, as its own entry.

    Only a credit the clinic owes is refunded: at most minus the balance (what credit
    notes took off an invoice already paid), so no balance goes below zero without an
    explicit credit note, and a refund never makes an invoice due again.
    """
    today = today or timezone.localdate()
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    amount = rules.money(amount, invoice.currency)
    if amount <= 0:
        raise ValidationError(_("A refund must be for more than zero."))
    if not reason.strip():
        raise ValidationError(_("Give the reason for the refund."))
    if refunded_on > today:
        raise ValidationError(_("A refund cannot be recorded in the future."))
    if payment is not None and payment.invoice_id != invoice.pk:
        raise ValidationError(
            _("That payment is not on invoice %(number)s.") % {"number": invoice.number}
        )
    _paid, _credited, balance = invoice_balance(invoice)
    owed_back = max(-balance, Decimal(0))
    if amount > owed_back:
        raise ValidationError(
            _(
                "Only the %(owed)s %(currency)s credited on invoice %(number)s after it was "
                "paid can be refunded; issue a credit note first."
            )
            % {"owed": owed_back, "currency": invoice.currency, "number": invoice.number}
        )
    refund = Refund.objects.create(
        invoice=invoice,
        payment=payment,
        amount=amount,
        currency=invoice.currency,
        refunded_on=refunded_on,
        method=method,
        reference=reference,
        reason=reason.strip(),
        recorded_by=actor,
    )
    BillingEvent.objects.create(
        action="refund_recorded", invoice=invoice, actor=actor, detail=f"{amount}"
    )
    return refund


def _queue_credit_note(note_id: int) -> None:
    from billing.tasks import deliver_credit_note

    deliver_credit_note.delay(note_id)


# --- Overdue and reminders ------------------------------------------------------------------


@transaction.atomic
def invoices_mark_overdue_and_remind(*, today: datetime.date) -> tuple[int, int]:
    """Mark invoices past their due date overdue, and queue at most one reminder per
    overdue step (``CLINIC_REMINDER_STEPS_DAYS``) per invoice, whatever the number of runs.

    Returns (newly overdue, reminders queued).
    """
    late = Invoice.objects.filter(
        status__in=(InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID), due_date__lt=today
    )
    # Locked, and the update keeps the condition: a payment committing at the same moment
    # is waited for, and its invoice (now paid) no longer matches, so it is never overwritten.
    late_ids = list(late.select_for_update().order_by("pk").values_list("pk", flat=True))
    # A bulk move, allowed by INVOICE_TRANSITIONS for both statuses, with its audit rows.
    late.filter(pk__in=late_ids).update(status=InvoiceStatus.OVERDUE)
    BillingEvent.objects.bulk_create(
        [BillingEvent(action="invoice_overdue", invoice_id=pk) for pk in late_ids]
    )
    steps = sorted(settings.CLINIC_REMINDER_STEPS_DAYS)
    # Locked so that two runs at once queue here and the second sees the first's
    # reminders, rather than failing on the one-reminder-per-step constraint.
    overdue = list(
        Invoice.objects.filter(status=InvoiceStatus.OVERDUE)
        .select_for_update()
        .order_by("pk")
        .values_list("pk", "due_date", "bill_to_email")
    )
    sent_steps: dict[int, int] = {}
    for invoice_id, step in InvoiceEmail.objects.filter(
        kind=EmailKind.REMINDER, invoice_id__in=[pk for pk, _d, _e in overdue]
    ).values_list("invoice_id", "reminder_step"):
        sent_steps[invoice_id] = max(step, sent_steps.get(invoice_id, 0))
    reminders = []
    for invoice_id, due_date, email in overdue:
        reached = [step for step in steps if step <= (today - due_date).days]
        # Only the latest step reached is sent: a missed day does not send two at once.
        if reached and reached[-1] > sent_steps.get(invoice_id, 0):
            reminders.append(
                InvoiceEmail(
                    invoice_id=invoice_id,
                    kind=EmailKind.REMINDER,
                    reminder_step=reached[-1],
                    recipient=email,
                )
            )
    created = InvoiceEmail.objects.bulk_create(reminders)
    ids = [reminder.pk for reminder in created]
    transaction.on_commit(lambda: _queue_emails(ids))
    return len(late_ids), len(ids)


@transaction.atomic
def payer_reminders_send(
    *, invoice_ids: list[int], today: datetime.date, actor=None
) -> tuple[int, int]:
    """Remind a payer of their overdue invoices now (the office's action on the aging
    report), through the reminder email. Returns (queued, already reminded today).

    Once per invoice per day: a reminder is the invoice's reminder at its number of days
    overdue, which the one-email-per-invoice-kind-and-step constraint keeps unique, so a
    second click, or the daily run reaching a step the same day, adds nothing. Invoices
    paid or no longer overdue by the time this runs (locked, re-read) are skipped.
    """
    invoices = list(
        selectors.with_amounts(
            Invoice.objects.filter(
                pk__in=invoice_ids, status__in=UNPAID_STATUSES, due_date__lt=today
            )
        )
        .select_for_update(of=("self",))
        .order_by("pk")
    )
    queued, already = [], 0
    for invoice in invoices:
        if selectors.balance_of(invoice) <= 0:
            continue
        email, created = InvoiceEmail.objects.get_or_create(
            invoice=invoice,
            kind=EmailKind.REMINDER,
            reminder_step=(today - invoice.due_date).days,
            credit_note=None,
            defaults={"recipient": invoice.bill_to_email},
        )
        if not created:
            already += 1
            continue
        BillingEvent.objects.create(
            action="reminder_sent_by_office", invoice=invoice, actor=actor, detail=str(email.pk)
        )
        queued.append(email.pk)
    transaction.on_commit(lambda: _queue_emails(queued))
    return len(queued), already


def _queue_emails(email_ids: list[int]) -> None:
    from billing.tasks import send_invoice_email

    for pk in email_ids:
        send_invoice_email.delay(pk)


# --- PDFs and email -------------------------------------------------------------------------


def _pdf_context(invoice: Invoice) -> dict:
    """What the invoice PDF shows: the invoice as issued, and nothing recorded after it.

    The PDF is rendered by a worker after the issuing commit (or, if that was missed, when
    its email is built), so payments or credit notes may exist by then: they are left out
    on purpose, so the stored document is the same whenever it was rendered. The current
    balance is on the invoice page and in the account statement.
    """
    return {
        "invoice": invoice,
        "lines": list(invoice.lines.all()),
        "payment_instructions": settings.CLINIC_PAYMENT_INSTRUCTIONS,
    }


def _invoice_for_delivery(invoice_id: int) -> Invoice:
    """The invoice with its payer, in one query. The lines are read only when the PDF is
    rendered. Amounts paid since and the email row are not read: the PDF is the invoice as
    issued, and the email row is written without a read first (``invoice_deliver``)."""
    return Invoice.objects.select_related("contract", "member__user").get(pk=invoice_id)


def invoice_deliver(*, invoice_id: int) -> InvoiceEmail | None:
    """Render and store a new invoice's PDF, create its email once and queue it.

    Three reads per invoice whatever its size (the invoice with its payer, its lines, and
    the email row with the invoice's amounts when it is sent) besides the writes that store
    the PDF and the email row and ``deliver_once``'s claim and record.
    """
    invoice = invoice_render_pdf(invoice_id=invoice_id)
    try:
        # Outside any transaction a plain INSERT is its own transaction: no read first and
        # no savepoint. The unique constraint settles a retry of this task or a race with
        # a second worker.
        with transaction.atomic():
            email = InvoiceEmail.objects.create(
                invoice=invoice, kind=EmailKind.INVOICE, recipient=invoice.bill_to_email
            )
    except IntegrityError:
        # Created by an earlier attempt: the existing rules apply (only a sendable email is
        # queued again).
        return invoice_email_queue(invoice=invoice, kind=EmailKind.INVOICE)
    email_id = email.pk
    transaction.on_commit(lambda: _queue_emails([email_id]))
    return email


def invoice_render_pdf(*, invoice_id: int) -> Invoice:
    """Render and store an invoice's PDF once (idempotent: a stored PDF is kept)."""
    from clinic.pdf import render_pdf

    invoice = _invoice_for_delivery(invoice_id)
    if not invoice.pdf:
        language = invoice.member.language if invoice.member else settings.LANGUAGE_CODE
        with translation.override(language):
            data = render_pdf("billing/pdf/invoice.html", _pdf_context(invoice))
        invoice.pdf.save(f"invoice-{invoice.number}.pdf", ContentFile(data), save=False)
        # Conditional: of two workers rendering at once, the first stored PDF is kept.
        if not Invoice.objects.filter(pk=invoice.pk, pdf="").update(pdf=invoice.pdf.name):
            invoice.pdf.storage.delete(invoice.pdf.name)
            invoice.refresh_from_db(fields=["pdf"])
    return invoice


def _queue_render(task_name: str, pk: int) -> None:
    from billing import tasks

    getattr(tasks, task_name).delay(pk)


@transaction.atomic
def invoice_pdf_lost(*, invoice_id: int, name: str) -> None:
    """The stored PDF ``name`` is gone from storage: forget it (the one column its trigger
    lets change) and render it again in the worker. Conditional on the name, so two
    downloads at once queue one rendering. Its email is not sent again."""
    if Invoice.objects.filter(pk=invoice_id, pdf=name).update(pdf=""):
        transaction.on_commit(lambda: _queue_render("render_invoice_pdf", invoice_id))


@transaction.atomic
def credit_note_pdf_lost(*, credit_note_id: int, name: str) -> None:
    """As ``invoice_pdf_lost``, for a credit note."""
    if CreditNote.objects.filter(pk=credit_note_id, pdf=name).update(pdf=""):
        transaction.on_commit(lambda: _queue_render("render_credit_note_pdf", credit_note_id))


def credit_note_render_pdf(*, credit_note_id: int) -> CreditNote:
    from clinic.pdf import render_pdf

    note = CreditNote.objects.select_related("invoice__member").get(pk=credit_note_id)
    if not note.pdf:
        member = note.invoice.member
        with translation.override(member.language if member else settings.LANGUAGE_CODE):
            data = render_pdf(
                "billing/pdf/credit_note.html",
                {"note": note, "invoice": note.invoice},
            )
        note.pdf.save(f"credit-note-{note.number}.pdf", ContentFile(data), save=False)
        if not CreditNote.objects.filter(pk=note.pk, pdf="").update(pdf=note.pdf.name):
            note.pdf.storage.delete(note.pdf.name)
            note.refresh_from_db(fields=["pdf"])
    return note


@transaction.atomic
def invoice_email_queue(
    *, invoice: Invoice, kind: str, credit_note: CreditNote | None = None
) -> InvoiceEmail:
    """The email of an invoice or credit note, created once; sent after commit."""
    if credit_note is not None:
        email, _created = InvoiceEmail.objects.get_or_create(
            credit_note=credit_note,
            defaults={"invoice": invoice, "kind": kind, "recipient": invoice.bill_to_email},
        )
    else:
        email, _created = InvoiceEmail.objects.get_or_create(
            invoice=invoice,
            kind=kind,
            reminder_step=0,
            credit_note=None,
            defaults={"recipient": invoice.bill_to_email},
        )
    # Only a sendable email is queued: an unknown one waits for staff to check and resend.
    if email.status in SENDABLE:
        email_id = email.pk
        transaction.on_commit(lambda: _queue_emails([email_id]))
    return email


def _invoice_email_message(email: InvoiceEmail) -> EmailMultiAlternatives:
    """The message of one invoice email, with its PDF attached (rendered if still missing)."""
    invoice, note = email.invoice, email.credit_note
    if email.kind == EmailKind.CREDIT_NOTE:
        document = note.pdf if note.pdf else credit_note_render_pdf(credit_note_id=note.pk).pdf
        filename = f"credit-note-{note.number}.pdf"
    else:
        document = invoice.pdf or invoice_render_pdf(invoice_id=invoice.pk).pdf
        filename = f"invoice-{invoice.number}.pdf"
    balance = selectors.balance_due(invoice)
    # Where the payer sees the invoice's current balance: My membership for a member, the
    # anchor portal for an anchor's billing contact.
    account = "members:my_membership" if invoice.member_id else "billing:contract"
    context = {
        "email": email,
        "invoice": invoice,
        "note": note,
        "balance": balance,
        # Sent (or sent again) once nothing is left to pay: the email says so instead of
        # asking for payment.
        "settled": balance <= 0,
        "account_url": absolute(reverse(account)),
        "payment_instructions": settings.CLINIC_PAYMENT_INSTRUCTIONS,
    }
    # A member's invoice mail is in their language; an anchor's in the clinic's.
    language = invoice.member.language if invoice.member_id else settings.LANGUAGE_CODE
    with translation.override(language):
        subject = {
            EmailKind.INVOICE: _("Invoice %(number)s from %(clinic)s"),
            EmailKind.CREDIT_NOTE: _("Credit note for invoice %(number)s from %(clinic)s"),
            EmailKind.REMINDER: _("Reminder: invoice %(number)s from %(clinic)s is overdue"),
        }[EmailKind(email.kind)] % {"number": invoice.number, "clinic": settings.CLINIC_NAME}
        message = clinic_email(
            subject=subject,
            text_template="billing/email/invoice.txt",
            html_template="billing/email/invoice.html",
            context=context,
            to=[email.recipient],
        )
    message.extra_headers["Content-Language"] = language
    with document.open("rb") as handle:
        message.attach(filename, handle.read(), "application/pdf")
    return message


def invoice_email_send(*, email_id: int, final_attempt: bool = False) -> DeliveryStatus:
    """Send one invoice email with its PDF attached, at most once (``clinic.delivery``).

    Transient failures are re-raised so the task retries with backoff. An attempt whose
    outcome was never recorded (the worker died, the database failed after the send) is
    not sent again: it becomes "unknown", for staff to check and resend deliberately.
    """
    return deliver_once(
        selectors.emails_for_message(InvoiceEmail.objects.all()),
        email_id,
        build=_invoice_email_message,
        final_attempt=final_attempt,
    )


@transaction.atomic
def invoice_email_resend(*, email_id: int, actor=None) -> InvoiceEmail:
    """Staff checked that an unknown or failed email did not arrive: send it again.

    Refused for an email that is queued, being sent or sent, so a double click or a stale
    page never sends a second copy.
    """
    email = InvoiceEmail.objects.select_related("invoice").get(pk=email_id)
    if not delivery_requeue(InvoiceEmail.objects.all(), email_id):
        raise ValidationError(
            _("This email is not failed or unknown; it cannot be sent again from here.")
        )
    BillingEvent.objects.create(
        action="invoice_email_resent",
        invoice=email.invoice,
        actor=actor,
        detail=f"{email.kind} {email.pk}",
    )
    transaction.on_commit(lambda: _queue_emails([email_id]))
    email.refresh_from_db()
    return email


# --- Federation contribution statement --------------------------------------------------------


@transaction.atomic
def federation_statement_request(
    *, month: datetime.date, actor=None
) -> FederationStatementDocument:
    """Ask the worker to prepare (or prepare again) a month's statement PDF.

    The month's row is created once (unique per month); asking again marks it queued with a
    new request time, so the worker renders the figures as they are now.
    """
    month = rules.month_start(month)
    document, created = FederationStatementDocument.objects.select_for_update().get_or_create(
        month=month,
        defaults={"requested_by": actor, "requested_at": timezone.now()},
    )
    if not created:
        document.status = StatementStatus.QUEUED
        document.requested_by = actor
        document.requested_at = timezone.now()
        document.last_error = ""
        document.save(update_fields=["status", "requested_by", "requested_at", "last_error"])
    BillingEvent.objects.create(
        action="federation_statement_requested", actor=actor, detail=f"{month:%Y-%m}"
    )
    document_id = document.pk
    transaction.on_commit(lambda: _queue_federation_statement(document_id))
    return document


def _queue_federation_statement(document_id: int) -> None:
    from billing.tasks import render_federation_statement

    render_federation_statement.delay(document_id)


def federation_statement_render(*, document_id: int) -> FederationStatementDocument:
    """Render and store a statement's PDF, in the worker.

    Idempotent: a statement already rendered since it was last requested is kept, so a
    duplicate or retried task does nothing. A failure is recorded on the row and re-raised.
    """
    from clinic.pdf import render_pdf

    document = FederationStatementDocument.objects.get(pk=document_id)
    if document.status == StatementStatus.READY and (
        document.rendered_at and document.rendered_at >= document.requested_at
    ):
        return document
    old_name = document.pdf.name
    # Taken before the figures are read: a request made while this renders is newer, so
    # its own task renders again rather than keep figures read before it.
    started = timezone.now()
    try:
        statement = selectors.federation_statement(month=document.month)
        data = render_pdf("billing/pdf/federation.html", {"statement": statement})
        document.pdf.save(f"federation-{document.month:%Y-%m}.pdf", ContentFile(data), save=False)
    except Exception as error:
        FederationStatementDocument.objects.filter(pk=document_id).update(
            status=StatementStatus.FAILED, last_error=str(error)[:255]
        )
        raise
    FederationStatementDocument.objects.filter(pk=document_id).update(
        pdf=document.pdf.name,
        status=StatementStatus.READY,
        rendered_at=started,
        last_error="",
    )
    if old_name and old_name != document.pdf.name:
        # The earlier rendering of the month is superseded; keep only the current one.
        document.pdf.storage.delete(old_name)
    document.refresh_from_db()
    return document
