"""Writes to the member register and the share ledger.

Views, imports, demo data and Celery tasks call these; nothing else changes a member's
status, number, plan or shares. Each function is one transaction; its status event or
ledger rows are written in it, and mail is queued only after commit.
"""

import datetime
import uuid
from decimal import Decimal

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic.delivery import DeliveryStatus, deliver_once, delivery_requeue
from clinic.money import quantize_money
from clinic.roles import Role, grant_role
from members.models import (
    CEASED_STATUSES,
    STATUS_TRANSITIONS,
    FeePlan,
    FeePlanAssignment,
    Member,
    MemberEmail,
    MemberEmailKind,
    MemberNumberSequence,
    MemberStatus,
    MemberStatusEvent,
    NoticeDelivery,
    OrientationRegistration,
    OrientationSession,
    PaymentMethod,
    RegisterExport,
    ShareCertificate,
    ShareClass,
    ShareLedgerEntry,
    ShareLedgerKind,
)

# A reason is part of the record for every change an administrator makes by hand.
STATUSES_NEEDING_A_REASON = frozenset(
    {
        MemberStatus.SUSPENDED,
        MemberStatus.LAPSED,
        MemberStatus.WITHDRAWN,
        MemberStatus.DECEASED,
        MemberStatus.EXPELLED,
        MemberStatus.REJECTED,
    }
)


# --- Status -------------------------------------------------------------------------------


def _lock(member: Member) -> Member:
    return Member.objects.select_for_update().select_related("user").get(pk=member.pk)


def _transition(
    member: Member, *, to_status: str, by, reason: str, on: datetime.date
) -> MemberStatusEvent:
    """The one place a status changes: refuses moves the rules do not allow."""
    current = MemberStatus(member.status)
    target = MemberStatus(to_status)
    if target not in STATUS_TRANSITIONS[current]:
        raise ValidationError(
            _("A member cannot go from “%(from)s” to “%(to)s”.")
            % {"from": current.label, "to": target.label}
        )
    if target in STATUSES_NEEDING_A_REASON and not reason.strip():
        raise ValidationError(_("Give a reason for this change; it is kept in the register."))
    if on > timezone.localdate():
        raise ValidationError(_("A status change cannot take effect in the future."))
    last = member.status_events.order_by("-effective_on", "-pk").first()
    if last is not None and on < last.effective_on:
        raise ValidationError(
            _("The change cannot take effect before the last recorded change (%(date)s).")
            % {"date": last.effective_on}
        )
    member.status = target
    if target in CEASED_STATUSES:
        member.ceased_on = on
    member.save(update_fields=["status", "ceased_on"])
    return MemberStatusEvent.objects.create(
        member=member,
        from_status=current,
        to_status=target,
        effective_on=on,
        reason=reason.strip(),
        recorded_by=by,
    )


@transaction.atomic
def member_change_status(
    *, member: Member, to_status: str, by, reason: str = "", on: datetime.date | None = None
) -> Member:
    """Suspend, lapse, reinstate, record a withdrawal or death (admission: ``member_approve``).

    Every ceased status goes through ``member_cease``, so leaving always ends billing.
    """
    if to_status in CEASED_STATUSES:
        return member_cease(member=member, to_status=to_status, by=by, reason=reason, on=on)
    member = _lock(member)
    if member.status == MemberStatus.APPLICANT:
        raise ValidationError(_("Applications are approved or rejected from the application."))
    if to_status == MemberStatus.APPLICANT and to_status in STATUS_TRANSITIONS[member.status]:
        raise ValidationError(_("A former member applies again through the Join form."))
    _transition(member, to_status=to_status, by=by, reason=reason, on=on or timezone.localdate())
    return member


@transaction.atomic
def member_cease(
    *, member: Member, to_status: str, by, reason: str, on: datetime.date | None = None
) -> Member:
    """The member leaves the cooperative (withdrawal, death): the one place leaving is
    recorded, and the seam between membership and billing.

    In the same transaction as the status change, the member's fee plan ends on the ceased
    date (a plan starting later is removed) and billing ends every anchor cover on it
    (``billing.services.member_billing_end``). The member row stays locked until commit, so
    no plan or cover can be added beside it. Invoices already issued for days after the
    ceased date are not changed; the office credits them
    (``billing.selectors.invoices_billing_member_after`` lists them).
    """
    from billing.services import member_billing_end

    if to_status not in CEASED_STATUSES:
        raise ValidationError(_("This status does not end membership."))
    member = _lock(member)
    on = on or timezone.localdate()
    _transition(member, to_status=to_status, by=by, reason=reason, on=on)
    plans = FeePlanAssignment.objects.select_for_update().filter(member=member)
    plans.filter(valid_from__gt=on).delete()
    plans.filter(Q(valid_to__isnull=True) | Q(valid_to__gt=on)).update(valid_to=on)
    member_billing_end(member_id=member.pk, on=on, actor=by)
    return member


# --- Applications ---------------------------------------------------------------------------


@transaction.atomic
def member_apply(
    *,
    first_name: str,
    last_name: str,
    email: str,
    date_of_birth: datetime.date,
    address: str,
    phone: str = "",
    preferred_language: str = "",
    notice_delivery: str = NoticeDelivery.EMAIL,
    payment_method: str = PaymentMethod.FEE_PLAN,
    requested_fee_plan: FeePlan | None = None,
    anchor_organization_name: str = "",
    applied_on: datetime.date | None = None,
) -> Member | None:
    """Record an application: an applicant and a user who cannot log in yet. Nothing else.

    Returns ``None`` when the email address already belongs to someone: the form then
    answers exactly as for a new application (so it does not reveal who is registered),
    and the address's owner is told by email.
    """

    User = get_user_model()
    email = User.objects.normalize_email(email).strip()
    user = User.objects.select_for_update().filter(email__iexact=email).first()
    member = None
    if user is not None:
        member = Member.objects.select_for_update().filter(user=user).first()
        if member is None or member.status not in (MemberStatus.REJECTED, MemberStatus.WITHDRAWN):
            _member_email_queue(kind=MemberEmailKind.ALREADY_REGISTERED, user=user)
            return None
    if user is None:
        user = User.objects.create_user(email=email, password=None)
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
    user.first_name, user.last_name = first_name.strip(), last_name.strip()
    user.save(update_fields=["first_name", "last_name"])
    details = {
        "date_of_birth": date_of_birth,
        "address": address.strip(),
        "phone": phone.strip(),
        "preferred_language": preferred_language,
        "notice_delivery": notice_delivery,
        "payment_method": payment_method,
        "requested_fee_plan": requested_fee_plan
        if payment_method == PaymentMethod.FEE_PLAN
        else None,
        "anchor_organization_name": anchor_organization_name.strip()
        if payment_method == PaymentMethod.ANCHOR
        else "",
        "rules_accepted_at": timezone.now(),
        "applied_on": applied_on or timezone.localdate(),
        "decision_reason": "",
    }
    if member is None:
        member = Member.objects.create(user=user, **details)
        MemberStatusEvent.objects.create(
            member=member,
            from_status="",
            to_status=MemberStatus.APPLICANT,
            effective_on=member.applied_on,
            reason=_("Applied to join"),
        )
    else:
        for field, value in details.items():
            setattr(member, field, value)
        member.save()
        _transition(
            member,
            to_status=MemberStatus.APPLICANT,
            by=None,
            reason=_("Applied to join again"),
            on=member.applied_on,
        )
    return member


def _next_member_number() -> int:
    """The next member number, under a lock held until the approving transaction ends.

    Numbers given outside the sequence (the demo's fixed numbers, an old register) are
    respected, so the next number always follows the highest ever given.
    """
    sequence, _created = MemberNumberSequence.objects.select_for_update().get_or_create(pk=1)
    highest = Member.objects.aggregate(highest=Max("number"))["highest"] or 0
    sequence.last_number = max(sequence.last_number, highest) + 1
    sequence.save(update_fields=["last_number"])
    return sequence.last_number


@transaction.atomic
def member_approve(*, member: Member, by, base_url: str, on: datetime.date | None = None) -> Member:
    """Admit an applicant: member number, status, role, fee plan, minimum shares, welcome mail."""

    member = _lock(member)
    on = on or timezone.localdate()
    if member.status != MemberStatus.APPLICANT:
        raise ValidationError(_("Only applications waiting for a decision can be approved."))
    if member.number is None:
        member.number = _next_member_number()
    member.admitted_on = on
    # Readmission starts fresh: a new membership from ``on``; the plans and cover of the
    # earlier one ended when they left and are not brought back.
    member.ceased_on = None
    member.decision_reason = ""
    member.save(update_fields=["number", "admitted_on", "ceased_on", "decision_reason"])
    admitted = _transition(
        member, to_status=MemberStatus.ACTIVE, by=by, reason=_("Admitted"), on=on
    )
    grant_role(member.user, Role.MEMBER)
    if member.payment_method == PaymentMethod.FEE_PLAN and member.requested_fee_plan_id:
        _assign_plan(member, plan=member.requested_fee_plan, valid_from=on)
    for share_class in ShareClass.objects.filter(minimum_holding__gt=0).order_by("pk"):
        missing = share_class.minimum_holding - _holding(member.pk, share_class)
        if missing > 0:
            _append(
                member=member,
                share_class=share_class,
                kind=ShareLedgerKind.SUBSCRIPTION,
                quantity=missing,
                on=on,
                by=by,
                note=_("Minimum holding subscribed on admission"),
            )
    _member_email_queue(
        kind=MemberEmailKind.WELCOME,
        user=member.user,
        member=member,
        status_event=admitted,
        base_url=base_url,
    )
    return member


@transaction.atomic
def member_reject(*, member: Member, by, reason: str) -> Member:

    member = _lock(member)
    if member.status != MemberStatus.APPLICANT:
        raise ValidationError(_("Only applications waiting for a decision can be rejected."))
    rejected = _transition(
        member,
        to_status=MemberStatus.REJECTED,
        by=by,
        reason=reason,
        on=timezone.localdate(),
    )
    member.decision_reason = reason.strip()
    member.save(update_fields=["decision_reason"])
    _member_email_queue(
        kind=MemberEmailKind.REJECTION, user=member.user, member=member, status_event=rejected
    )
    return member


# --- Mail to members and applicants ---------------------------------------------------------


def _member_email_queue(
    *,
    kind: str,
    user,
    member: Member | None = None,
    status_event: MemberStatusEvent | None = None,
    base_url: str = "",
) -> MemberEmail:
    """Write the email's delivery row in the caller's transaction; send it after commit."""
    from members import tasks

    email = MemberEmail.objects.create(
        kind=kind,
        user=user,
        member=member,
        status_event=status_event,
        recipient=user.email,
        base_url=base_url,
    )
    email_id = email.pk
    transaction.on_commit(lambda: tasks.send_member_email.delay(email_id))
    return email


# Still true when the email is sent: a welcome goes to a member still admitted, a rejection
# to an applicant not applying again meanwhile.
_STILL_RELEVANT = {
    MemberEmailKind.WELCOME: MemberStatus.ACTIVE,
    MemberEmailKind.REJECTION: MemberStatus.REJECTED,
}


def _member_email_message(email: MemberEmail):
    from django.template.loader import render_to_string
    from django.urls import reverse
    from django.utils import translation

    from clinic.email import clinic_email
    from clinic.links import absolute
    from members.tasks import set_password_url

    member = email.member
    context = {
        "user": email.user,
        "member": member,
        "login_url": absolute(reverse("account_login")),
    }
    if email.kind == MemberEmailKind.WELCOME:
        context["set_password_url"] = set_password_url(email.user, email.base_url)
    language = member.language if member is not None else settings.LANGUAGE_CODE
    template = f"members/email/{email.kind}"
    with translation.override(language):
        subject = render_to_string(
            f"{template}_subject.txt", {**context, "CLINIC_NAME": settings.CLINIC_NAME}
        ).strip()
        return clinic_email(
            subject=subject,
            text_template=f"{template}.txt",
            html_template=f"{template}.html",
            context=context,
            to=[email.recipient],
        )


def member_email_send(*, email_id: int, final_attempt: bool = False) -> MemberEmail:
    """Send one member email at most once (``clinic.delivery.deliver_once``).

    Transient failures are re-raised for the task to retry; an attempt whose outcome was
    never recorded is not sent again but becomes "unknown". An email no longer relevant
    (the welcome of someone who left before it went out) stays unsent.
    """
    email = MemberEmail.objects.select_related("member").get(pk=email_id)
    wanted = _STILL_RELEVANT.get(MemberEmailKind(email.kind))
    if wanted is not None and email.member.status != wanted:
        return email
    deliver_once(
        MemberEmail.objects.select_related("user", "member"),
        email_id,
        build=_member_email_message,
        final_attempt=final_attempt,
    )
    return MemberEmail.objects.get(pk=email_id)


MEMBER_EMAIL_CHECK_FIRST = gettext_lazy(
    "The outcome of this email is unknown: it may have reached the recipient. Check with "
    "them that they did not get it, then confirm to send it again."
)


@transaction.atomic
def member_email_resend(*, email_id: int, by, checked: bool = False) -> MemberEmail:
    """Staff send again an email whose delivery failed (gave up) or is unknown.

    An unknown outcome may have reached the mail server, so it is sent again only when
    ``checked`` (staff confirm the recipient did not get it). The requeue is a conditional
    update (``clinic.delivery.delivery_requeue``): an email queued, being sent or sent is
    refused, so a double click or a stale page never sends a second copy.
    """
    from members import tasks

    email = MemberEmail.objects.select_for_update().get(pk=email_id)
    if email.status == DeliveryStatus.UNKNOWN and not checked:
        raise ValidationError(MEMBER_EMAIL_CHECK_FIRST)
    if not delivery_requeue(MemberEmail.objects.all(), email_id):
        raise ValidationError(
            _("This email is not failed or unknown; it cannot be sent again from here.")
        )
    transaction.on_commit(lambda: tasks.send_member_email.delay(email_id))
    email.refresh_from_db()
    return email


# --- Member's own details ---------------------------------------------------------------


@transaction.atomic
def member_language_set(*, member: Member, language: str) -> Member:
    """The member chose ``language`` (a code of settings.LANGUAGES) for their pages, mail
    and documents, e.g. with the header's language switcher."""
    member = _lock(member)
    member.preferred_language = language
    member.save(update_fields=["preferred_language"])
    return member


@transaction.atomic
def member_update_details(
    *,
    member: Member,
    first_name: str,
    last_name: str,
    address: str,
    phone: str,
    preferred_language: str,
    notice_delivery: str,
) -> Member:
    member = _lock(member)
    member.address, member.phone = address.strip(), phone.strip()
    member.preferred_language, member.notice_delivery = preferred_language, notice_delivery
    member.save(update_fields=["address", "phone", "preferred_language", "notice_delivery"])
    member.user.first_name, member.user.last_name = first_name.strip(), last_name.strip()
    member.user.save(update_fields=["first_name", "last_name"])
    return member


@transaction.atomic
def member_record_orientation(*, member: Member, attended_on: datetime.date) -> Member:
    member = _lock(member)
    if member.status in (MemberStatus.APPLICANT, MemberStatus.REJECTED):
        raise ValidationError(_("Only admitted members attend the orientation session."))
    if attended_on > timezone.localdate():
        raise ValidationError(_("Attendance cannot be recorded for a future date."))
    member.orientation_attended_on = attended_on
    member.save(update_fields=["orientation_attended_on"])
    return member


# --- Fee plans --------------------------------------------------------------------------------


def _assign_plan(member: Member, *, plan: FeePlan, valid_from: datetime.date) -> FeePlanAssignment:
    # Lock the plan: ``fee_plan_save`` checks "nobody is on it" under the same lock before
    # changing its price terms, so a plan cannot change while a member is being put on it.
    plan = FeePlan.objects.select_for_update().get(pk=plan.pk)
    current = (
        FeePlanAssignment.objects.select_for_update()
        .filter(member=member, valid_to__isnull=True)
        .first()
    )
    if current is not None:
        if current.plan_id == plan.pk:
            raise ValidationError(_("The member is already on this plan."))
        if valid_from <= current.valid_from:
            raise ValidationError(
                _("The new plan must start after the current one started (%(date)s).")
                % {"date": current.valid_from}
            )
        current.valid_to = valid_from - datetime.timedelta(days=1)
        current.save(update_fields=["valid_to"])
    return FeePlanAssignment.objects.create(member=member, plan=plan, valid_from=valid_from)


@transaction.atomic
def fee_plan_assign(
    *, member: Member, plan: FeePlan, valid_from: datetime.date
) -> FeePlanAssignment:
    """Put a member on a plan from a date; the plan they were on ends the day before."""
    from billing.services import member_billing_change_check

    member = _lock(member)
    if member.status not in (MemberStatus.ACTIVE, MemberStatus.SUSPENDED, MemberStatus.LAPSED):
        raise ValidationError(_("Only current members can be put on a fee plan."))
    # Backdating into a period already invoiced is refused, never silently lost.
    member_billing_change_check(member_id=member.pk, start=valid_from, fee=True)
    return _assign_plan(member, plan=plan, valid_from=valid_from)


@transaction.atomic
def fee_plan_end(*, member: Member, valid_to: datetime.date) -> FeePlanAssignment:
    """End the member's plan, e.g. when an anchor organization's contract covers them."""
    from billing.services import member_billing_change_check

    member = _lock(member)
    current = (
        FeePlanAssignment.objects.select_for_update()
        .filter(member=member, valid_to__isnull=True)
        .first()
    )
    if current is None:
        raise ValidationError(_("The member is not on a fee plan."))
    if valid_to < current.valid_from:
        raise ValidationError(_("A plan cannot end before it started."))
    # Ending it inside a period already invoiced would make that invoice wrong.
    member_billing_change_check(member_id=member.pk, start=valid_to + datetime.timedelta(days=1))
    current.valid_to = valid_to
    current.save(update_fields=["valid_to"])
    return current


FEE_PLAN_TERMS_FIXED = gettext_lazy(
    "Members are on this plan, so its amount, period and currency cannot change: "
    "create a new plan and reassign members."
)


@transaction.atomic
def fee_plan_save(
    *,
    plan: FeePlan | None = None,
    name: str,
    amount: Decimal,
    currency: str,
    period: str,
    is_available: bool,
) -> FeePlan:
    currency = (currency or settings.CLINIC_CURRENCY).upper()
    amount = quantize_money(amount, currency)
    if plan is None or plan.pk is None:
        plan = FeePlan()
    else:
        # Re-read under a lock: the instance may carry unsaved form values, and a member
        # being put on the plan at the same moment must see the terms it keeps.
        plan = FeePlan.objects.select_for_update().get(pk=plan.pk)
        changed = (plan.amount, plan.currency, plan.period) != (amount, currency, period)
        if changed and plan.assignments.exists():
            raise ValidationError(FEE_PLAN_TERMS_FIXED)
    plan.name, plan.period, plan.is_available = name.strip(), period, is_available
    plan.amount = amount
    plan.currency = currency
    plan.save()
    return plan


# --- Share ledger ---------------------------------------------------------------------------


def _holding(member_id: int, share_class: ShareClass) -> int:
    total = ShareLedgerEntry.objects.filter(member_id=member_id, share_class=share_class).aggregate(
        total=Sum("quantity")
    )["total"]
    return total or 0


def _lock_members(*member_ids: int) -> dict[int, Member]:
    """Lock the members whose holdings are about to change, always in pk order.

    Every ledger write takes these row locks before reading a holding, so two transfers
    or redemptions from the same member run one after the other and the second sees the
    first's result. Ordering by pk keeps two opposite transfers from deadlocking.
    """
    members = Member.objects.select_for_update().filter(pk__in=member_ids).order_by("pk")
    return {member.pk: member for member in members}


def _append(
    *,
    member: Member,
    share_class: ShareClass,
    kind: str,
    quantity: int = 0,
    amount: Decimal = Decimal(0),
    on: datetime.date | None = None,
    by=None,
    reference: str = "",
    note: str = "",
    reverses: ShareLedgerEntry | None = None,
) -> ShareLedgerEntry:
    return ShareLedgerEntry.objects.create(
        member=member,
        share_class=share_class,
        kind=kind,
        quantity=quantity,
        amount=quantize_money(amount, share_class.currency),
        currency=share_class.currency,
        entry_date=on or timezone.localdate(),
        reference=reference,
        note=note,
        reverses=reverses,
        created_by=by,
    )


def _check_quantity(quantity: int) -> None:
    if quantity <= 0:
        raise ValidationError(_("The number of shares must be at least 1."))


def _check_date(on: datetime.date | None) -> datetime.date:
    on = on or timezone.localdate()
    if on > timezone.localdate():
        raise ValidationError(_("Ledger entries cannot be dated in the future."))
    return on


def _lowest_holding_from(member_id: int, share_class: ShareClass, on: datetime.date) -> int:
    """The smallest holding the member has on any date from ``on`` onward (end of day)."""
    entries = ShareLedgerEntry.objects.filter(member_id=member_id, share_class=share_class)
    held = entries.filter(entry_date__lt=on).aggregate(total=Sum("quantity"))["total"] or 0
    lowest = None
    for day, change in (
        entries.filter(entry_date__gte=on)
        .values("entry_date")
        .annotate(change=Sum("quantity"))
        .order_by("entry_date")
        .values_list("entry_date", "change")
    ):
        if lowest is None and day > on:
            lowest = held  # the holding on ``on`` itself, which has no entries
        held += change
        lowest = held if lowest is None else min(lowest, held)
    return held if lowest is None else lowest


def _refuse_below_zero(
    member: Member, share_class: ShareClass, quantity: int, on: datetime.date
) -> None:
    """Refuse taking ``quantity`` shares on ``on`` if the holding would be negative on that
    date or any later one: a backdated entry changes every holding after it. The caller
    holds the member's lock (``_lock_members``), so no other entry lands in between."""
    held = _lowest_holding_from(member.pk, share_class, on)
    if held < quantity:
        raise ValidationError(
            _(
                "%(member)s holds %(held)s %(class)s shares on some day from %(date)s on; "
                "%(quantity)s cannot be taken."
            )
            % {
                "member": member,
                "held": held,
                "class": share_class,
                "quantity": quantity,
                "date": on,
            }
        )


@transaction.atomic
def share_subscribe(
    *,
    member: Member,
    share_class: ShareClass,
    quantity: int,
    by,
    on: datetime.date | None = None,
    note: str = "",
) -> ShareLedgerEntry:
    """The member takes up new shares (to be paid with ``share_payment``)."""
    _check_quantity(quantity)
    on = _check_date(on)
    member = _lock_members(member.pk)[member.pk]
    if member.status not in (MemberStatus.ACTIVE, MemberStatus.SUSPENDED):
        raise ValidationError(_("Only current members can subscribe shares."))
    return _append(
        member=member,
        share_class=share_class,
        kind=ShareLedgerKind.SUBSCRIPTION,
        quantity=quantity,
        on=on,
        by=by,
        note=note,
    )


@transaction.atomic
def share_payment(
    *,
    member: Member,
    share_class: ShareClass,
    amount: Decimal,
    by,
    on: datetime.date | None = None,
    reference: str = "",
    note: str = "",
) -> ShareLedgerEntry:
    """Money paid in for shares subscribed."""
    if amount <= 0:
        raise ValidationError(_("A payment must be more than zero."))
    on = _check_date(on)
    member = _lock_members(member.pk)[member.pk]
    return _append(
        member=member,
        share_class=share_class,
        kind=ShareLedgerKind.PAYMENT,
        amount=amount,
        on=on,
        by=by,
        reference=reference,
        note=note,
    )


@transaction.atomic
def share_transfer(
    *,
    from_member: Member,
    to_member: Member,
    share_class: ShareClass,
    quantity: int,
    by,
    on: datetime.date | None = None,
    note: str = "",
) -> tuple[ShareLedgerEntry, ShareLedgerEntry]:
    """Move shares between members: two entries with one reference, never below zero."""
    _check_quantity(quantity)
    on = _check_date(on)
    if from_member.pk == to_member.pk:
        raise ValidationError(_("Shares cannot be transferred to the same member."))
    locked = _lock_members(from_member.pk, to_member.pk)
    giver, receiver = locked[from_member.pk], locked[to_member.pk]
    if receiver.status != MemberStatus.ACTIVE:
        raise ValidationError(_("Shares can only be transferred to an active member."))
    _refuse_below_zero(giver, share_class, quantity, on)
    reference = f"T-{uuid.uuid4().hex[:12]}"
    out = _append(
        member=giver,
        share_class=share_class,
        kind=ShareLedgerKind.TRANSFER_OUT,
        quantity=-quantity,
        on=on,
        by=by,
        reference=reference,
        note=note,
    )
    into = _append(
        member=receiver,
        share_class=share_class,
        kind=ShareLedgerKind.TRANSFER_IN,
        quantity=quantity,
        on=on,
        by=by,
        reference=reference,
        note=note,
    )
    return out, into


@transaction.atomic
def share_redeem(
    *,
    member: Member,
    share_class: ShareClass,
    quantity: int,
    by,
    on: datetime.date | None = None,
    note: str = "",
) -> ShareLedgerEntry:
    """Pay back shares at par: on leaving, or shares above the rules' minimum."""
    _check_quantity(quantity)
    on = _check_date(on)
    member = _lock_members(member.pk)[member.pk]
    _refuse_below_zero(member, share_class, quantity, on)
    remaining = _holding(member.pk, share_class) - quantity
    if member.status in (MemberStatus.ACTIVE, MemberStatus.SUSPENDED) and (
        remaining < share_class.minimum_holding
    ):
        raise ValidationError(
            _("A current member keeps at least %(minimum)s %(class)s shares.")
            % {"minimum": share_class.minimum_holding, "class": share_class}
        )
    return _append(
        member=member,
        share_class=share_class,
        kind=ShareLedgerKind.REDEMPTION,
        quantity=-quantity,
        amount=-(share_class.par_value * quantity),
        on=on,
        by=by,
        note=note,
    )


@transaction.atomic
def share_entry_reverse(*, entry: ShareLedgerEntry, by, reason: str) -> list[ShareLedgerEntry]:
    """Correct a mistaken entry by appending its negation (both legs of a transfer)."""
    if not reason.strip():
        raise ValidationError(_("Give a reason for the correction."))
    if entry.kind == ShareLedgerKind.REVERSAL:
        raise ValidationError(_("A reversal cannot itself be reversed; record a new entry."))
    legs = [entry]
    if entry.kind in (ShareLedgerKind.TRANSFER_IN, ShareLedgerKind.TRANSFER_OUT):
        legs = list(
            ShareLedgerEntry.objects.filter(
                reference=entry.reference,
                kind__in=[ShareLedgerKind.TRANSFER_IN, ShareLedgerKind.TRANSFER_OUT],
            ).order_by("pk")
        )
    locked = _lock_members(*{leg.member_id for leg in legs})
    if ShareLedgerEntry.objects.filter(reverses__in=legs).exists():
        raise ValidationError(_("This entry has already been reversed."))
    today = timezone.localdate()
    for leg in legs:
        if leg.quantity > 0:
            _refuse_below_zero(locked[leg.member_id], leg.share_class, leg.quantity, today)
    return [
        _append(
            member=locked[leg.member_id],
            share_class=leg.share_class,
            kind=ShareLedgerKind.REVERSAL,
            quantity=-leg.quantity,
            amount=-leg.amount,
            by=by,
            reference=leg.reference,
            note=reason.strip()[:255],
            reverses=leg,
        )
        for leg in legs
    ]


# --- Certificates -----------------------------------------------------------------------------


@transaction.atomic
def share_certificate_for(*, member: Member, share_class: ShareClass, by=None) -> ShareCertificate:
    """The certificate of the member's current holding (the same one until it changes).

    Idempotent: asking again, by the member or the office, gives the certificate already in
    force. A certificate of an earlier holding is kept and marked superseded by the new one.
    """
    _lock_members(member.pk)
    last_entry = (
        ShareLedgerEntry.objects.filter(member=member, share_class=share_class)
        .order_by("-pk")
        .first()
    )
    held = _holding(member.pk, share_class)
    if last_entry is None or held <= 0:
        raise ValidationError(_("There is no holding of this share class to certify."))
    current = ShareCertificate.objects.filter(
        member=member, share_class=share_class, superseded_on__isnull=True
    ).first()
    if current is not None and current.last_entry_id == last_entry.pk:
        _queue_certificate_render(current)
        return current
    if current is not None:
        # Out of force first: one current certificate per share class (a constraint).
        ShareCertificate.objects.filter(pk=current.pk).update(superseded_on=timezone.localdate())
    earlier_versions = ShareCertificate.objects.filter(
        member=member, share_class=share_class, last_entry=last_entry
    ).aggregate(last=Max("version"))["last"]
    certificate = ShareCertificate.objects.create(
        member=member,
        share_class=share_class,
        last_entry=last_entry,
        quantity=held,
        issued_by=by,
        version=(earlier_versions or 0) + 1,
    )
    if current is not None:
        ShareCertificate.objects.filter(pk=current.pk).update(superseded_by=certificate)
    _queue_certificate_render(certificate)
    return certificate


@transaction.atomic
def share_certificate_reissue(*, certificate: ShareCertificate, by) -> ShareCertificate:
    """Issue the certificate again (lost, damaged): a new version of the same holding; the
    old one is kept and marked superseded. Idempotent: reissuing a certificate already
    superseded (a second click, a stale page) returns the one that replaced it."""
    _lock_members(certificate.member_id)
    old = ShareCertificate.objects.select_related("share_class").get(pk=certificate.pk)
    if old.superseded_on is not None:
        return ShareCertificate.objects.filter(supersedes=old).get()
    current_last = (
        ShareLedgerEntry.objects.filter(member_id=old.member_id, share_class=old.share_class)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    if current_last != old.last_entry_id:
        # The holding changed since: the new certificate certifies today's holding.
        return share_certificate_for(member=old.member, share_class=old.share_class, by=by)
    # The old one stops being in force first: one current certificate per share class.
    ShareCertificate.objects.filter(pk=old.pk).update(superseded_on=timezone.localdate())
    certificate = ShareCertificate.objects.create(
        member_id=old.member_id,
        share_class=old.share_class,
        last_entry_id=old.last_entry_id,
        quantity=old.quantity,
        version=old.version + 1,
        issued_by=by,
    )
    ShareCertificate.objects.filter(pk=old.pk).update(superseded_by=certificate)
    _queue_certificate_render(certificate)
    return certificate


def _queue_certificate_render(certificate: ShareCertificate) -> None:
    from members import tasks

    if not certificate.file:
        certificate_id = certificate.pk
        transaction.on_commit(lambda: tasks.render_share_certificate.delay(certificate_id))


def share_certificate_render(*, certificate_id: int) -> None:
    """Render and store the PDF once; a second run finds the file and does nothing."""
    from django.core.files.base import ContentFile

    from clinic.pdf import render_pdf

    with transaction.atomic():
        certificate = (
            ShareCertificate.objects.select_for_update()
            .select_related("member__user", "share_class")
            .get(pk=certificate_id)
        )
        if certificate.file:
            return
        # In the member's language, like every document the member receives.
        with translation.override(certificate.member.language):
            data = render_pdf("members/pdf/share_certificate.html", {"certificate": certificate})
        certificate.file.save(f"{certificate.number}.pdf", ContentFile(data), save=True)


@transaction.atomic
def share_certificate_file_lost(*, certificate_id: int, name: str) -> None:
    """The certificate's stored PDF is gone from storage: forget it and render it again
    (conditional on the name, so two downloads at once queue one rendering)."""
    from members import tasks

    if ShareCertificate.objects.filter(pk=certificate_id, file=name).update(file=""):
        transaction.on_commit(lambda: tasks.render_share_certificate.delay(certificate_id))


# --- The register -------------------------------------------------------------------------


@transaction.atomic
def register_export_request(*, by) -> RegisterExport:
    """Queue the register PDF; the worker renders it and the office downloads it."""
    from members import tasks

    export = RegisterExport.objects.create(requested_by=by)
    export_id = export.pk
    transaction.on_commit(lambda: tasks.render_register_pdf.delay(export_id))
    return export


# Members per rendered chunk of the register PDF: WeasyPrint keeps a whole document's
# layout in memory, so 10,000 members at once took 1.2 GB; 500 rows at a time stay small.
REGISTER_CHUNK_SIZE = 500


def register_export_render(*, export_id: int, chunk_size: int = REGISTER_CHUNK_SIZE) -> None:
    """Render the register PDF in chunks of members, merge them, and store it once.

    The register is read in one query (one consistent snapshot), rendered ``chunk_size``
    rows at a time and merged with pypdf into a temporary file; page numbers ("3 / 40")
    are stamped on the merged pages. No lock is held while rendering: the export row is
    locked only to store the file, and a file another worker stored meanwhile is kept.
    """
    import io
    import tempfile

    from django.core.files import File
    from pypdf import PdfReader, PdfWriter

    from clinic.pdf import render_pdf
    from members.selectors import register_rows

    if RegisterExport.objects.filter(pk=export_id).exclude(file="").exists():
        return
    members = list(register_rows())
    generated_at = timezone.localtime()
    writer = PdfWriter()
    for start in range(0, max(len(members), 1), chunk_size):
        chunk = render_pdf(
            "members/pdf/register.html",
            {
                "members": members[start : start + chunk_size],
                "generated_at": generated_at,
                "continued": start > 0,
                "numbered_later": True,
            },
        )
        writer.append(PdfReader(io.BytesIO(chunk)))
    numbers = render_pdf("pdf/page_numbers.html", {"pages": range(len(writer.pages))})
    for page, number in zip(writer.pages, PdfReader(io.BytesIO(numbers)).pages, strict=True):
        page.merge_page(number)
    with tempfile.TemporaryFile() as merged:
        writer.write(merged)
        merged.seek(0)
        with transaction.atomic():
            export = RegisterExport.objects.select_for_update().get(pk=export_id)
            if export.file:
                return
            export.file.save(f"register-{export.pk}.pdf", File(merged), save=True)


@transaction.atomic
def member_import(*, text: str, by, base_url: str) -> list[Member]:
    """Admit a batch of new members from CSV: every row, or (on any error) none of them."""
    from members.imports import parse_member_import

    preview = parse_member_import(text)
    if preview.errors:
        raise ValidationError(_("The file has errors; nothing was imported."))
    admitted = []
    for row in preview.rows:
        member = member_apply(
            first_name=row.first_name,
            last_name=row.last_name,
            email=row.email,
            date_of_birth=row.date_of_birth,
            address=row.address,
            phone=row.phone,
            preferred_language=row.preferred_language,
            payment_method=PaymentMethod.FEE_PLAN if row.fee_plan else PaymentMethod.ANCHOR,
            requested_fee_plan=row.fee_plan,
            applied_on=row.admitted_on,
        )
        if member is None:
            raise ValidationError(
                _("%(email)s is already registered; nothing was imported.") % {"email": row.email}
            )
        admitted.append(member_approve(member=member, by=by, base_url=base_url, on=row.admitted_on))
    return admitted


# --- Orientation sessions -----------------------------------------------------------------


@transaction.atomic
def orientation_session_create(
    *,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    place: str,
    capacity: int,
    created_by=None,
) -> OrientationSession:
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": _("The session must end after it starts.")})
    if starts_at <= timezone.now():
        raise ValidationError({"starts_at": _("The session must start in the future.")})
    return OrientationSession.objects.create(
        starts_at=starts_at, ends_at=ends_at, place=place, capacity=capacity, created_by=created_by
    )


def orientation_register(
    *, session_id: int, name: str, email: str, language: str = ""
) -> OrientationRegistration:
    """Give a person a place at a session and queue its confirmation email.

    The session row is locked while the places are counted, so two people taking the last
    place at once cannot both get it. The same address registering again gets the place it
    already has, and no second email.
    """
    email = email.strip()
    with transaction.atomic():
        session = OrientationSession.objects.select_for_update().get(pk=session_id)
        existing = OrientationRegistration.objects.filter(
            session=session, email__iexact=email
        ).first()
        if existing is not None:
            return existing
        if session.starts_at <= timezone.now():
            raise ValidationError(_("This session has already started."))
        if session.registrations.count() >= session.capacity:
            raise ValidationError(_("This session is full. Please choose another one."))
        registration = OrientationRegistration.objects.create(
            session=session, name=name.strip(), email=email, language=language
        )
        registration_id = registration.pk

        from members import tasks

        transaction.on_commit(lambda: tasks.send_orientation_confirmation.delay(registration_id))
    return registration


def orientation_calendar(registration: OrientationRegistration) -> bytes:
    """The session as an iCalendar event the person can add to their calendar."""
    import icalendar

    from clinic import links

    session = registration.session
    calendar = icalendar.Calendar()
    calendar.add("prodid", f"-//{settings.CLINIC_NAME}//Orientation//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = icalendar.Event()
    # One event per session (not per registration): registering twice shows one entry.
    event.add("uid", f"orientation-{session.pk}@{links.site_domain()}")
    event.add("dtstamp", timezone.now())
    event.add("dtstart", timezone.localtime(session.starts_at))
    event.add("dtend", timezone.localtime(session.ends_at))
    event.add("summary", _("Orientation session: %(clinic)s") % {"clinic": settings.CLINIC_NAME})
    event.add("location", session.place)
    event.add("url", links.absolute("/"))
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


def _orientation_message(registration: OrientationRegistration):
    from django.core.mail import EmailMessage
    from django.template.loader import render_to_string
    from django.utils import translation

    language = registration.language or settings.LANGUAGE_CODE
    with translation.override(language):
        context = {
            "registration": registration,
            "session": registration.session,
            "CLINIC_NAME": settings.CLINIC_NAME,
            "CLINIC_ADDRESS": settings.CLINIC_ADDRESS,
        }
        subject = render_to_string(
            "members/email/orientation_confirmation_subject.txt", context
        ).strip()
        body = render_to_string("members/email/orientation_confirmation.txt", context)
        ics = orientation_calendar(registration)
    message = EmailMessage(subject=subject, body=body, to=[registration.email])
    message.attach("orientation.ics", ics, "text/calendar")
    return message


def orientation_confirmation_send(
    *, registration_id: int, final_attempt: bool = False
) -> OrientationRegistration:
    """Send a registration's confirmation at most once (``clinic.delivery.deliver_once``)."""
    deliver_once(
        OrientationRegistration.objects.select_related("session"),
        registration_id,
        build=_orientation_message,
        final_attempt=final_attempt,
    )
    return OrientationRegistration.objects.get(pk=registration_id)
