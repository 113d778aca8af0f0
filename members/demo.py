"""The demo cooperative's register: members, fee plans, shares, applicants, one lapsed member.

Idempotent: everything is looked up by a natural key (email, plan name, member number)
before it is created, so running ``seed_demo`` again changes nothing.
"""

import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic.demo import demo_language, demo_name, demo_person_name, demo_user
from clinic.roles import Role
from members import services
from members.models import (
    FeePeriod,
    FeePlan,
    FeePlanAssignment,
    Member,
    MemberStatus,
    MemberStatusEvent,
    OrientationSession,
    PaymentMethod,
    ShareClass,
    ShareLedgerEntry,
    ShareLedgerKind,
)

OTHER_MEMBERS = 40
LAPSED_NUMBER = 42
# Members 1-25 pay a fee; 26-40 are covered by the demo anchor's contract (billing).
FEE_PAYING = range(1, 26)
# The demo's texts are translated when seed_demo builds it in another language.
PLANS = [
    (gettext_lazy("Sliding scale, tier 1"), Decimal("25.00"), FeePeriod.MONTHLY),
    (gettext_lazy("Sliding scale, tier 2"), Decimal("45.00"), FeePeriod.MONTHLY),
    (gettext_lazy("Sliding scale, tier 3"), Decimal("65.00"), FeePeriod.MONTHLY),
    (gettext_lazy("Yearly standard"), Decimal("500.00"), FeePeriod.YEARLY),
    (gettext_lazy("Yearly supporter"), Decimal("780.00"), FeePeriod.YEARLY),
]
STREETS = [
    gettext_lazy("Commons Lane"),
    gettext_lazy("Mill Street"),
    gettext_lazy("River Road"),
    gettext_lazy("Orchard Way"),
    gettext_lazy("Harbour Row"),
]
VALLEY_GROWERS = gettext_lazy("Valley Growers Co-op")
APPLICANTS = [
    ("applicant1@demo.coop", "Noor", "Applicant", PaymentMethod.FEE_PLAN, ""),
    ("applicant2@demo.coop", "Theo", "Hopeful", PaymentMethod.FEE_PLAN, ""),
    ("applicant3@demo.coop", "Wren", "Newcomer", PaymentMethod.ANCHOR, VALLEY_GROWERS),
]  # fmt: skip


def _admin():
    return get_user_model().objects.get(email="admin@demo.coop")


def seed() -> None:
    plans = [
        FeePlan.objects.get_or_create(
            name=str(name), defaults={"amount": amount, "period": period}
        )[0]
        for name, amount, period in PLANS
    ]
    share_class, _created = ShareClass.objects.get_or_create(
        name=_("Member share"), defaults={"par_value": Decimal("50.00"), "minimum_holding": 1}
    )
    admin = _admin()
    people = [("member@demo.coop", "Maria", "Member"), ("member2@demo.coop", "Malik", "Second")]
    # (demo_user gives the two named members their names in the demo's language.)
    for index in range(OTHER_MEMBERS):
        first, last = demo_person_name(index)
        people.append((f"member{index + 3}@demo.coop", first, last))
    for number, (email, first, last) in enumerate(people, start=1):
        user = demo_user(email=email, first_name=first, last_name=last, roles=(Role.MEMBER,))
        admitted_on = datetime.date(2025, 1, 1) + datetime.timedelta(days=7 * number)
        member, _created = Member.objects.get_or_create(
            user=user,
            defaults={
                "number": number,
                "status": MemberStatus.ACTIVE,
                "admitted_on": admitted_on,
                "applied_on": admitted_on - datetime.timedelta(days=5),
                "preferred_language": demo_language(),
            },
        )
        _fill_details(member)
        _seed_history(member)
        if number in FEE_PAYING:
            FeePlanAssignment.objects.get_or_create(
                member=member,
                defaults={"plan": plans[number % len(plans)], "valid_from": member.admitted_on},
            )
        _seed_shares(member, share_class, admin)
    lapsed = Member.objects.get(number=LAPSED_NUMBER)
    if lapsed.status == MemberStatus.ACTIVE:
        services.member_change_status(
            member=lapsed,
            to_status=MemberStatus.LAPSED,
            by=admin,
            reason=_("Fee unpaid for three months; no reply to reminders."),
            on=timezone.localdate() - datetime.timedelta(days=30),
        )
    _seed_orientation_sessions(admin)
    for email, first, last, method, organization in APPLICANTS:
        first, last = demo_name(email, first, last)
        if not get_user_model().objects.filter(email=email).exists():
            services.member_apply(
                first_name=first,
                last_name=last,
                email=email,
                date_of_birth=datetime.date(1990, 5, 17),
                address=_demo_address(7, STREETS[len(first) % len(STREETS)]),
                payment_method=method,
                requested_fee_plan=plans[0] if method == PaymentMethod.FEE_PLAN else None,
                anchor_organization_name=str(organization),
                preferred_language=demo_language(),
            )


def _demo_address(number: int, street) -> str:
    # Translators: a street address in the demo's town; reorder as addresses are written.
    return _("%(number)s %(street)s, Riverside") % {"number": number, "street": street}


def _fill_details(member: Member) -> None:
    """Contact details, payment and orientation, only where still blank."""
    number = member.number
    details = {
        "date_of_birth": datetime.date(1950 + number, 1 + number % 12, 1 + number % 28),
        "address": _demo_address(number, STREETS[number % len(STREETS)]),
        "phone": f"+31 20 555 {number:04d}",
        # Most members have been to the orientation session; a few have not yet.
        "orientation_attended_on": member.admitted_on + datetime.timedelta(days=14)
        if number % 6
        else None,
    }
    changed = [field for field, value in details.items() if not getattr(member, field) and value]
    for field in changed:
        setattr(member, field, details[field])
    method = PaymentMethod.FEE_PLAN if number in FEE_PAYING else PaymentMethod.ANCHOR
    if member.payment_method != method:
        member.payment_method = method
        changed.append("payment_method")
    if changed:
        member.save(update_fields=changed)


def _seed_history(member: Member) -> None:
    if member.applied_on > member.admitted_on:
        # Registers seeded before applications were recorded carry today's date.
        member.applied_on = member.admitted_on - datetime.timedelta(days=5)
        member.save(update_fields=["applied_on"])
    if not member.status_events.exists():
        MemberStatusEvent.objects.create(
            member=member, to_status=MemberStatus.APPLICANT, effective_on=member.applied_on
        )
        MemberStatusEvent.objects.create(
            member=member,
            from_status=MemberStatus.APPLICANT,
            to_status=MemberStatus.ACTIVE,
            effective_on=member.admitted_on,
            reason=_("Admitted"),
        )


def _seed_shares(member: Member, share_class: ShareClass, admin) -> None:
    if ShareLedgerEntry.objects.filter(member=member).exists():
        return
    # Written directly (not through the services) because they are dated in the past.
    on = member.admitted_on
    ShareLedgerEntry.objects.create(
        member=member,
        share_class=share_class,
        kind=ShareLedgerKind.SUBSCRIPTION,
        quantity=share_class.minimum_holding,
        currency=share_class.currency,
        entry_date=on,
        note=_("Minimum holding subscribed on admission"),
        created_by=admin,
    )
    # A few members have paid in more; one has not paid yet.
    extra = 2 if member.number % 10 == 0 else 0
    if extra:
        ShareLedgerEntry.objects.create(
            member=member,
            share_class=share_class,
            kind=ShareLedgerKind.SUBSCRIPTION,
            quantity=extra,
            currency=share_class.currency,
            entry_date=on + datetime.timedelta(days=30),
            created_by=admin,
        )
    if member.number != 3:
        ShareLedgerEntry.objects.create(
            member=member,
            share_class=share_class,
            kind=ShareLedgerKind.PAYMENT,
            amount=share_class.par_value * (share_class.minimum_holding + extra),
            currency=share_class.currency,
            entry_date=on + datetime.timedelta(days=3),
            reference=f"DEMO-{member.number:03d}",
            created_by=admin,
        )


def _seed_orientation_sessions(admin) -> None:
    """Two coming orientation sessions for the home page, unless some are planned already
    (so running the seed again adds none)."""
    if OrientationSession.objects.filter(starts_at__gt=timezone.now()).exists():
        return
    today = timezone.localdate()
    for weeks, place in ((2, "Community room, 1 Commons Lane"), (6, "Library annex, Mill Street")):
        day = today + datetime.timedelta(weeks=weeks)
        starts_at = timezone.make_aware(datetime.datetime.combine(day, datetime.time(18, 30)))
        services.orientation_session_create(
            starts_at=starts_at,
            ends_at=starts_at + datetime.timedelta(hours=2),
            place=place,
            capacity=20,
            created_by=admin,
        )
