"""A synthetic clinic of a given size, built with bulk inserts for ``make bench``.

Separate from ``seed_demo`` (a small, hand-written demo that goes through the services):
here every table is filled with ``bulk_create`` so 10,000 members take minutes, not
hours. The rows still use the models' real fields and respect the rules the services
enforce: member numbers 1..N with a matching sequence row, a status history for every
member, good standing (shares held, only recent invoices unpaid), invoice numbers 1..N
per series and year with matching counters, one invoice per member (or contract) and
period, ballots whose tallies match their participations.

Each model family has its own small function so it can be adapted when a model changes.
The clinic is built in an empty database (after ``migrate``); ``build`` refuses otherwise.
"""

import datetime
import random
import secrets
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

BATCH = 2000
ANCHOR_COVERED_MAX = 2000
PRACTITIONERS_PER_DISCIPLINE = 3
MONTHS = 12
# One in this many fee-paying members left an older invoice unpaid (overdue in the aging
# report, and so not in good standing).
LATE_PAYER_EVERY = 50
BENCH_PASSWORD = "bench-pass-2026"  # noqa: S105 - throwaway benchmark database only
SHARE_PAR = Decimal("50.00")
FEE_AMOUNTS = (Decimal("25.00"), Decimal("45.00"), Decimal("65.00"))
ANCHOR_RATE = Decimal("45.00")


@dataclass
class Clinic:
    """What was built, for the bench and the tests to find their way around it."""

    size: int
    today: datetime.date
    admin_id: int = 0
    anchor_contact_id: int = 0
    hub_user_id: int = 0
    clinician_user_id: int = 0
    member_user_id: int = 0
    contract_id: int = 0
    member_ids: list[int] = field(default_factory=list)
    covered_ids: list[int] = field(default_factory=list)
    fee_member_ids: list[int] = field(default_factory=list)
    practitioner_ids: list[int] = field(default_factory=list)
    arc_ids: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def add_months(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def months_billed(today: datetime.date) -> list[datetime.date]:
    """The twelve full calendar months before the current one, oldest first."""
    current = month_start(today)
    return [add_months(current, -n) for n in range(MONTHS, 0, -1)]


def _aware(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, 0)))


def _bulk(model, rows: list) -> list:
    return model.objects.bulk_create(rows, batch_size=BATCH)


# --- People ---------------------------------------------------------------------------------


def build_users(clinic: Clinic, *, emails: list[tuple[str, str, str]]) -> list:
    """Users who can log in with ``BENCH_PASSWORD`` (hashed once, shared by all)."""
    User = get_user_model()
    password = make_password(BENCH_PASSWORD)
    return _bulk(
        User,
        [User(email=e, first_name=f, last_name=last, password=password) for e, f, last in emails],
    )


def grant_roles(users: list, role) -> None:
    from django.contrib.auth.models import Group

    User = get_user_model()
    group = Group.objects.get(name=role.value)
    _bulk(
        User.groups.through, [User.groups.through(user_id=u.pk, group_id=group.pk) for u in users]
    )


def verify_emails(users: list) -> None:
    from allauth.account.models import EmailAddress

    _bulk(
        EmailAddress,
        [EmailAddress(user_id=u.pk, email=u.email, verified=True, primary=True) for u in users],
    )


def build_staff(clinic: Clinic) -> None:
    from careteam.models import Discipline, Practitioner
    from clinic.roles import Role

    admin, anchor = build_users(
        clinic,
        emails=[
            ("admin@bench.coop", "Ada", "Office"),
            ("anchor@bench.coop", "Amal", "Anchor"),
        ],
    )
    grant_roles([admin], Role.ADMINISTRATOR)
    grant_roles([anchor], Role.ANCHOR_CONTACT)
    disciplines = list(Discipline.objects.order_by("pk"))
    people = [
        (f"practitioner{i}@bench.coop", f"P{i}", d.name)
        for i, d in enumerate(d for d in disciplines for _n in range(PRACTITIONERS_PER_DISCIPLINE))
    ]
    users = build_users(clinic, emails=people)
    practitioners = _bulk(
        Practitioner,
        [
            Practitioner(
                user=u,
                discipline=disciplines[i // PRACTITIONERS_PER_DISCIPLINE],
                registration_number=f"REG-{i:05d}",
            )
            for i, u in enumerate(users)
        ],
    )
    # The first practitioner holds the hub function; the others are clinicians.
    grant_roles(users[:1], Role.HUB_COORDINATOR)
    grant_roles(users[1:], Role.CLINICIAN)
    verify_emails([admin, anchor, *users])
    clinic.admin_id, clinic.anchor_contact_id = admin.pk, anchor.pk
    clinic.hub_user_id, clinic.clinician_user_id = users[0].pk, users[1].pk
    clinic.practitioner_ids = [p.pk for p in practitioners]


def build_members(clinic: Clinic) -> None:
    """Members 1..N, all active, admitted in the month before billing starts, with history."""
    from clinic.roles import Role
    from members.models import Member, MemberNumberSequence, MemberStatus, MemberStatusEvent

    rng = random.Random(clinic.size)  # noqa: S311 - repeatable synthetic data, not secrets
    admitted = add_months(months_billed(clinic.today)[0], -1)
    users = build_users(
        clinic,
        emails=[
            (f"member{n}@bench.coop", f"M{n}", f"Bench{n % 97}") for n in range(1, clinic.size + 1)
        ],
    )
    grant_roles(users, Role.MEMBER)
    verify_emails(users)
    members = _bulk(
        Member,
        [
            Member(
                user=u,
                number=n,
                status=MemberStatus.ACTIVE,
                date_of_birth=datetime.date(1940 + n % 60, 1 + n % 12, 1 + n % 28),
                address=f"{n} Commons Lane, Riverside",
                phone=f"+31 20 {n:07d}",
                applied_on=admitted - datetime.timedelta(days=7),
                admitted_on=admitted + datetime.timedelta(days=rng.randrange(28)),
                orientation_attended_on=admitted + datetime.timedelta(days=30),
                rules_accepted_at=_aware(admitted - datetime.timedelta(days=7)),
            )
            for n, u in enumerate(users, start=1)
        ],
    )
    _bulk(
        MemberStatusEvent,
        [
            event
            for m in members
            for event in (
                MemberStatusEvent(
                    member=m, to_status=MemberStatus.APPLICANT, effective_on=m.applied_on
                ),
                MemberStatusEvent(
                    member=m,
                    from_status=MemberStatus.APPLICANT,
                    to_status=MemberStatus.ACTIVE,
                    effective_on=m.admitted_on,
                    reason="Admitted",
                    recorded_by_id=clinic.admin_id,
                ),
            )
        ],
    )
    MemberNumberSequence.objects.update(last_number=clinic.size)
    clinic.member_ids = [m.pk for m in members]
    clinic.member_user_id = users[0].pk
    # The first members (by number) pay fees; the last fifth are covered by the anchor.
    covered = min(ANCHOR_COVERED_MAX, clinic.size // 5)
    clinic.covered_ids = clinic.member_ids[clinic.size - covered :]
    clinic.fee_member_ids = clinic.member_ids[: clinic.size - covered]


def build_fee_plans(clinic: Clinic) -> None:
    from members.models import FeePeriod, FeePlan, FeePlanAssignment, Member, PaymentMethod

    plans = [
        FeePlan.objects.create(
            name=f"Sliding scale, tier {i}", amount=amount, period=FeePeriod.MONTHLY
        )
        for i, amount in enumerate(FEE_AMOUNTS, start=1)
    ]
    members = Member.objects.filter(pk__in=clinic.fee_member_ids).only("pk", "admitted_on")
    _bulk(
        FeePlanAssignment,
        [
            FeePlanAssignment(
                member_id=m.pk, plan=plans[m.pk % len(plans)], valid_from=m.admitted_on
            )
            for m in members
        ],
    )
    Member.objects.filter(pk__in=clinic.covered_ids).update(
        payment_method=PaymentMethod.ANCHOR, anchor_organization_name="Valley Growers"
    )


def build_shares(clinic: Clinic) -> None:
    """One share subscribed and paid on admission; every tenth member holds two more."""
    from members.models import Member, ShareClass, ShareLedgerEntry, ShareLedgerKind

    share_class = ShareClass.objects.create(
        name="Member share", par_value=SHARE_PAR, minimum_holding=1
    )
    entries = []
    for m in Member.objects.filter(pk__in=clinic.member_ids).only("pk", "number", "admitted_on"):
        extra = 2 if m.number % 10 == 0 else 0
        common = {
            "member_id": m.pk,
            "share_class": share_class,
            "currency": share_class.currency,
            "created_by_id": clinic.admin_id,
        }
        entries.append(
            ShareLedgerEntry(
                kind=ShareLedgerKind.SUBSCRIPTION,
                quantity=1 + extra,
                entry_date=m.admitted_on,
                **common,
            )
        )
        entries.append(
            ShareLedgerEntry(
                kind=ShareLedgerKind.PAYMENT,
                amount=SHARE_PAR * (1 + extra),
                entry_date=m.admitted_on + datetime.timedelta(days=3),
                reference=f"BENCH-{m.number:06d}",
                **common,
            )
        )
    _bulk(ShareLedgerEntry, entries)


# --- Care -----------------------------------------------------------------------------------


def build_care_teams(clinic: Clinic) -> None:
    """Every member's team: the hub coordinator and two practitioners of other disciplines."""
    from careteam.models import CareTeamAssignment, TeamRole

    hub, others = clinic.practitioner_ids[0], clinic.practitioner_ids[1:]
    start = months_billed(clinic.today)[0]
    rows = []
    for i, member_id in enumerate(clinic.member_ids):
        rows.append(
            CareTeamAssignment(
                member_id=member_id,
                practitioner_id=hub,
                role=TeamRole.HUB_COORDINATOR,
                started_on=start,
                assigned_by_id=clinic.admin_id,
            )
        )
        for k in (i % len(others), (i + 7) % len(others)):
            rows.append(
                CareTeamAssignment(
                    member_id=member_id,
                    practitioner_id=others[k],
                    started_on=start,
                    assigned_by_id=clinic.admin_id,
                )
            )
    _bulk(CareTeamAssignment, rows)


ARC_STATUS_CYCLE = ("active", "active", "active", "on_hold", "achieved", "discontinued", "draft")


def _within(measure, fraction: Decimal) -> Decimal:
    """A value ``fraction`` of the way up the measure's valid range (bulk inserts skip the
    form's range check, so the bench keeps its values inside it itself)."""
    low, high = measure.min_value, measure.max_value
    return (low + (high - low) * fraction).quantize(Decimal("0.01"))


def build_arcs(clinic: Clinic) -> None:
    """An arc per member with two goals, a phase, an intervention, measures, notes, a version."""
    from arcs.models import (
        Arc,
        ArcVersion,
        Goal,
        Intervention,
        Measurement,
        OutcomeMeasure,
        Phase,
        ProgressNote,
    )
    from careteam.models import Practitioner

    today, now = clinic.today, timezone.now()
    start = months_billed(today)[0]
    measures = list(OutcomeMeasure.objects.order_by("pk")[:2])
    practitioners = list(Practitioner.objects.filter(pk__in=clinic.practitioner_ids))
    arcs = []
    for i, member_id in enumerate(clinic.member_ids):
        status = ARC_STATUS_CYCLE[i % len(ARC_STATUS_CYCLE)]
        closed = status in ("achieved", "discontinued")
        arcs.append(
            Arc(
                member_id=member_id,
                title=f"Arc of care {i + 1}",
                endpoint="Walk 5 km without pain and sleep through the night.",
                lead_discipline_id=practitioners[i % len(practitioners)].discipline_id,
                status=status,
                discontinued_reason="Moved away" if status == "discontinued" else "",
                review_every_days=28,
                next_review_on=None if closed else today + datetime.timedelta(days=i % 40 - 10),
                activated_on=None if status == "draft" else start,
                closed_on=today - datetime.timedelta(days=i % 60) if closed else None,
                last_activity_at=now - datetime.timedelta(days=i % 90),
            )
        )
    arcs = _bulk(Arc, arcs)
    clinic.arc_ids = [a.pk for a in arcs]
    goals, phases, interventions, measurements, notes, versions = [], [], [], [], [], []
    for i, arc in enumerate(arcs):
        practitioner = practitioners[(i + 1) % len(practitioners)]
        for measure in measures:
            goals.append(
                Goal(
                    arc=arc,
                    measure=measure,
                    description=f"Improve {measure.name}",
                    baseline=_within(measure, Decimal("0.8")),
                    target=_within(measure, Decimal("0.3")),
                    target_date=today + datetime.timedelta(days=90),
                )
            )
            for step in range(2):
                measurements.append(
                    Measurement(
                        arc=arc,
                        measure=measure,
                        value=_within(measure, Decimal("0.8") - Decimal("0.2") * step),
                        measured_on=start + datetime.timedelta(days=30 * step + i % 28),
                        recorded_by_id=practitioner.user_id,
                    )
                )
        phases.append(
            Phase(
                arc=arc,
                name="Build strength",
                planned_start=start,
                planned_end=start + datetime.timedelta(days=180),
            )
        )
        interventions.append(
            Intervention(
                arc=arc,
                discipline_id=practitioner.discipline_id,
                practitioner=practitioner,
                description="Guided exercises",
                frequency="Weekly",
                starts_on=start,
            )
        )
        for visibility in ("shared", "internal"):
            notes.append(
                ProgressNote(
                    arc=arc,
                    author_id=practitioner.user_id,
                    text="Progress as planned; reviewed goals with the member.",
                    visibility=visibility,
                )
            )
        versions.append(
            ArcVersion(
                arc=arc,
                number=1,
                snapshot={"title": arc.title, "goals": len(measures)},
                summary="Arc created",
                changed_by_id=practitioner.user_id,
            )
        )
    for model, rows in (
        (Goal, goals),
        (Phase, phases),
        (Intervention, interventions),
        (Measurement, measurements),
        (ProgressNote, notes),
        (ArcVersion, versions),
    ):
        _bulk(model, rows)


def build_consultations(clinic: Clinic) -> None:
    """Open consultations on one arc in twenty, addressed to another discipline."""
    from careteam.models import ConsultationRequest, Practitioner

    practitioners = list(Practitioner.objects.filter(pk__in=clinic.practitioner_ids))
    _bulk(
        ConsultationRequest,
        [
            ConsultationRequest(
                arc_id=arc_id,
                requested_by=practitioners[i % len(practitioners)],
                to_discipline_id=practitioners[(i + 3) % len(practitioners)].discipline_id,
                question="Could you review the exercise plan?",
            )
            for i, arc_id in enumerate(clinic.arc_ids[::20])
        ],
    )


# --- Billing --------------------------------------------------------------------------------


def build_contract(clinic: Clinic) -> None:
    from billing.models import (
        AnchorKind,
        AnchorOrganization,
        ContractStatus,
        CoverEnrolment,
        DirectCareContract,
    )

    anchor = AnchorOrganization.objects.create(
        name="Valley Growers Agricultural Cooperative",
        kind=AnchorKind.AGRICULTURAL_COOPERATIVE,
        billing_contact_name="Amal Anchor",
        billing_contact_email="anchor@bench.coop",
        address="12 Orchard Road, Riverside Valley",
        tax_id="VG-0042",
        previous_spend_per_person_month=Decimal("68.00"),
    )
    anchor.contacts.add(clinic.anchor_contact_id)
    start = months_billed(clinic.today)[0]
    contract = DirectCareContract.objects.create(
        anchor=anchor,
        reference="VG-BENCH-01",
        start_date=start,
        rate_per_member_month=ANCHOR_RATE,
        status=ContractStatus.ACTIVE,
    )
    _bulk(
        CoverEnrolment,
        [
            CoverEnrolment(contract=contract, member_id=m, covered_from=start)
            for m in clinic.covered_ids
        ],
    )
    clinic.contract_id = contract.pk


def _invoice_numbers(clinic: Clinic, invoices: list) -> None:
    """Number invoices 1..N per year in issue order and set the counters to match."""
    from billing.models import DocumentNumberCounter, DocumentSeries

    invoices.sort(key=lambda inv: (inv.issue_date, inv.contract_id or 0, inv.member_id or 0))
    last: dict[int, int] = {}
    for invoice in invoices:
        year = invoice.issue_date.year
        last[year] = last.get(year, 0) + 1
        invoice.number = f"{year}-{last[year]:06d}"
    for year, number in last.items():
        DocumentNumberCounter.objects.update_or_create(
            series=DocumentSeries.INVOICE, year=year, defaults={"last_number": number}
        )


def build_invoices(clinic: Clinic) -> None:
    """Twelve months of fee invoices and the anchor's monthly invoices, with their lines.

    Every month but the last is paid, except a few late payers' invoice of two months ago
    (overdue); the last month's invoices are issued and not yet due or just due.
    """
    from billing.models import (
        BillingEvent,
        DirectCareContract,
        Invoice,
        InvoiceLine,
        InvoiceStatus,
    )
    from members.models import FeePlanAssignment

    months = months_billed(clinic.today)
    plans = {
        a.member_id: a
        for a in FeePlanAssignment.objects.filter(
            member_id__in=clinic.fee_member_ids
        ).select_related("member__user", "plan")
    }
    contract = DirectCareContract.objects.select_related("anchor").get(pk=clinic.contract_id)
    invoices, lines = [], []
    for index, period in enumerate(months):
        issue = add_months(period, 1)
        end = issue - datetime.timedelta(days=1)
        days = (end - period).days + 1
        last = index == len(months) - 1
        for member_id in clinic.fee_member_ids:
            assignment = plans[member_id]
            member = assignment.member
            late = member.number % LATE_PAYER_EVERY == 0 and index == len(months) - 3
            status = InvoiceStatus.ISSUED if last else InvoiceStatus.PAID
            if late:
                status = InvoiceStatus.OVERDUE
            invoice = Invoice(
                member_id=member_id,
                period=period,
                issue_date=issue,
                due_date=issue + datetime.timedelta(days=14),
                currency=assignment.plan.currency,
                total=assignment.plan.amount,
                bill_to_name=member.full_name,
                bill_to_email=member.user.email,
                bill_to_address=member.address,
                status=status,
            )
            invoices.append(invoice)
            lines.append(
                (
                    invoice,
                    [
                        InvoiceLine(
                            description=f"Membership fee {period:%Y-%m}",
                            member_id=member_id,
                            start=period,
                            end=end,
                            days=days,
                            days_in_period=days,
                            unit_amount=assignment.plan.amount,
                            amount=assignment.plan.amount,
                        )
                    ],
                )
            )
        anchor = contract.anchor
        invoice = Invoice(
            contract=contract,
            period=period,
            issue_date=issue,
            due_date=issue + datetime.timedelta(days=contract.payment_terms_days),
            currency=contract.currency,
            total=contract.rate_per_member_month * len(clinic.covered_ids),
            bill_to_name=anchor.name,
            bill_to_email=anchor.billing_contact_email,
            bill_to_address=anchor.address,
            bill_to_tax_id=anchor.tax_id,
            status=InvoiceStatus.ISSUED if last else InvoiceStatus.PAID,
        )
        invoices.append(invoice)
        lines.append(
            (
                invoice,
                [
                    InvoiceLine(
                        description=f"Primary care {period:%Y-%m}",
                        member_id=member_id,
                        start=period,
                        end=end,
                        days=days,
                        days_in_period=days,
                        unit_amount=contract.rate_per_member_month,
                        amount=contract.rate_per_member_month,
                    )
                    for member_id in clinic.covered_ids
                ],
            )
        )
    _invoice_numbers(clinic, invoices)
    _bulk(Invoice, invoices)
    for invoice, invoice_lines in lines:
        for line in invoice_lines:
            line.invoice = invoice
    _bulk(InvoiceLine, [line for _inv, invoice_lines in lines for line in invoice_lines])
    _bulk(
        BillingEvent,
        [
            BillingEvent(
                action="invoice_issued",
                invoice=inv,
                contract_id=inv.contract_id,
                detail=inv.number,
            )
            for inv in invoices
        ],
    )


def build_payments(clinic: Clinic) -> None:
    """Each paid invoice paid in full a week after its date."""
    from billing.models import Invoice, InvoiceStatus, Payment, PaymentMethod

    paid = Invoice.objects.filter(status=InvoiceStatus.PAID).values_list(
        "pk", "total", "currency", "issue_date"
    )
    _bulk(
        Payment,
        [
            Payment(
                invoice_id=pk,
                amount=total,
                currency=currency,
                paid_on=issued + datetime.timedelta(days=7),
                method=PaymentMethod.BANK_TRANSFER,
                recorded_by_id=clinic.admin_id,
            )
            for pk, total, currency, issued in paid
        ],
    )


# --- Governance -----------------------------------------------------------------------------


def build_past_ballots(clinic: Clinic) -> None:
    """Last year's AGM with a closed motion every member voted on (10,000 votes at 10,000
    members) and a closed board election half the members voted in."""
    from governance.models import (
        Ballot,
        BallotKind,
        BallotMark,
        BallotOption,
        BallotStatus,
        CastBallot,
        EligibleVoter,
        MajorityRule,
        Meeting,
        MeetingKind,
        Participation,
    )

    rng = random.Random(clinic.size)  # noqa: S311 - repeatable synthetic data, not secrets
    held = clinic.today - datetime.timedelta(days=60)
    starts = _aware(held, 19)
    meeting = Meeting.objects.create(
        kind=MeetingKind.ANNUAL,
        title="Annual general meeting (bench)",
        starts_at=starts,
        ends_at=starts + datetime.timedelta(hours=2),
        place="Community hall",
        notice_sent_at=starts - datetime.timedelta(days=21),
        minutes="The accounts were approved and the board elected.",
    )

    def ballot(title, kind, rule, seats, labels, voters):
        b = Ballot.objects.create(
            meeting=meeting,
            title=title,
            kind=kind,
            majority_rule=rule,
            seats=seats,
            record_date=held - datetime.timedelta(days=14),
            opens_at=starts - datetime.timedelta(days=7),
            closes_at=starts,
            status=BallotStatus.CLOSED,
            eligible_count=len(clinic.member_ids),
            opened_at=starts - datetime.timedelta(days=7),
            closed_at=starts,
        )
        options = _bulk(
            BallotOption,
            [
                BallotOption(ballot=b, position=i, label=label, **extra)
                for i, (label, extra) in enumerate(labels, start=1)
            ],
        )
        _bulk(EligibleVoter, [EligibleVoter(ballot=b, member_id=m) for m in clinic.member_ids])
        _bulk(Participation, [Participation(ballot=b, voter_id=m, cast_by_id=m) for m in voters])
        cast = _bulk(
            CastBallot,
            [CastBallot(ballot=b, receipt=secrets.token_hex(8).upper()) for _m in voters],
        )
        marks = []
        for c in cast:
            for option in rng.sample(options, seats):
                marks.append(BallotMark(cast_ballot=c, option=option))
        _bulk(BallotMark, marks)
        return b

    ballot(
        "Approve the annual accounts",
        BallotKind.MOTION,
        MajorityRule.SIMPLE,
        1,
        [(c, {"motion_choice": c}) for c in ("for", "against", "abstain")],
        clinic.member_ids,
    )
    candidates = clinic.member_ids[:4]
    ballot(
        "Board election",
        BallotKind.ELECTION,
        MajorityRule.PLURALITY,
        2,
        [(f"Candidate {i}", {"candidate_id": m}) for i, m in enumerate(candidates, start=1)],
        clinic.member_ids[::2],
    )


# --- The whole clinic -----------------------------------------------------------------------

STEPS = (
    build_staff,
    build_members,
    build_fee_plans,
    build_shares,
    build_care_teams,
    build_arcs,
    build_consultations,
    build_contract,
    build_invoices,
    build_payments,
    build_past_ballots,
)


def build(*, size: int = 10_000, today: datetime.date | None = None, log=None) -> Clinic:
    """Build the clinic in one transaction (all or nothing) in an empty database."""
    import time

    from members.models import Member

    if size < 10:
        raise ValueError("A bench clinic needs at least 10 members.")
    if Member.objects.exists():
        raise ValueError("The database already has members; build the bench clinic in a new one.")
    clinic = Clinic(size=size, today=today or timezone.localdate())
    with transaction.atomic():
        for step in STEPS:
            started = time.perf_counter()
            step(clinic)
            if log:
                log(f"{step.__name__}: {time.perf_counter() - started:.1f} s")
    return clinic
