"""Writes of care teams and consultations. Every write that matters goes through here."""

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from careteam.models import (
    INTEREST_TRANSITIONS,
    CareTeamAssignment,
    ConsultationRequest,
    ConsultationStatus,
    Discipline,
    ExpressionOfInterest,
    InterestAnswer,
    InterestStatus,
    Notification,
    NotificationKind,
    Practitioner,
    TeamRole,
)
from careteam.selectors import (
    consultations_answerable_by,
    consultations_visible_to,
    current_assignments,
    notifications_visible_to,
)
from clinic.delivery import SENDABLE, DeliveryStatus, deliver_once, delivery_requeue
from clinic.links import absolute
from clinic.roles import Role, has_role
from members.models import Member

# The consultation's status machine: which statuses each status may move to.
CONSULTATION_TRANSITIONS: dict[str, frozenset[str]] = {
    ConsultationStatus.OPEN: frozenset({ConsultationStatus.ANSWERED, ConsultationStatus.CLOSED}),
    ConsultationStatus.ANSWERED: frozenset({ConsultationStatus.CLOSED}),
    ConsultationStatus.CLOSED: frozenset(),
}


def _lock_member_team(member: Member) -> list[CareTeamAssignment]:
    """Lock the member, then read their current team: every team change for one member
    queues here, so each decides on the team as the previous change left it."""
    Member.objects.select_for_update(no_key=True).filter(pk=member.pk).first()
    return list(current_assignments().select_for_update().filter(member=member))


@transaction.atomic
def care_team_assign(
    *,
    member: Member,
    practitioner: Practitioner,
    role: str = TeamRole.PRACTITIONER,
    by,
    started_on: datetime.date | None = None,
) -> CareTeamAssignment:
    """Put a practitioner on a member's care team.

    A current care team has exactly one hub coordinator, held here for every path: the
    first assignment of a team names its hub coordinator; assigning a hub coordinator
    hands the function over (the previous holder's assignment ends the same day); the
    current hub coordinator cannot be made a plain practitioner of the team (that would
    leave it without one) until a new hub coordinator is named.
    """
    started_on = started_on or timezone.localdate()
    if role == TeamRole.HUB_COORDINATOR and not has_role(practitioner.user, Role.HUB_COORDINATOR):
        raise ValidationError(
            _("%(name)s is not a hub coordinator.") % {"name": practitioner.user.get_full_name()}
        )
    team = _lock_member_team(member)
    for assignment in team:
        if assignment.practitioner_id == practitioner.pk and assignment.role == role:
            raise ValidationError(_("This practitioner is already on the care team in that role."))
    hub = next((a for a in team if a.role == TeamRole.HUB_COORDINATOR), None)
    if role != TeamRole.HUB_COORDINATOR:
        if hub is None:
            raise ValidationError(
                _("A care team always has a hub coordinator: assign the hub coordinator first.")
            )
        if hub.practitioner_id == practitioner.pk:
            raise ValidationError(
                _(
                    "%(name)s is this member's hub coordinator: assign the new hub "
                    "coordinator first, then %(name)s as a practitioner."
                )
                % {"name": practitioner.user.get_full_name()}
            )
    for assignment in team:
        replaced_hub = role == TeamRole.HUB_COORDINATOR and assignment.role == role
        if assignment.practitioner_id == practitioner.pk or replaced_hub:
            assignment.ended_on = max(started_on, assignment.started_on)
            assignment.save(update_fields=["ended_on"])
    try:
        with transaction.atomic():
            created = CareTeamAssignment.objects.create(
                member=member,
                practitioner=practitioner,
                role=role,
                started_on=started_on,
                assigned_by=by,
            )
    except IntegrityError as error:
        raise ValidationError(_("The care team changed meanwhile; please try again.")) from error
    if hub is not None and role == TeamRole.HUB_COORDINATOR:
        _cancel_notifications_after_leaving(member=member, practitioner=hub.practitioner)
    return created


@transaction.atomic
def care_team_end(
    *,
    assignment: CareTeamAssignment,
    by,
    ended_on: datetime.date | None = None,
    reason: str = "",
) -> CareTeamAssignment:
    """End a practitioner's place on a care team; the hub function is handed over instead.

    Leaving ends access to the member's clinical records (one policy, in the selectors)
    and, in this transaction, cancels the emails still queued for the practitioner about
    the member's consultations they may no longer see.
    """
    team = _lock_member_team(assignment.member)
    assignment = next((a for a in team if a.pk == assignment.pk), None)
    if assignment is None:
        raise ValidationError(_("This assignment has already ended."))
    if assignment.role == TeamRole.HUB_COORDINATOR:
        raise ValidationError(
            _(
                "A care team always has a hub coordinator: assign the new hub coordinator "
                "instead, which ends this assignment."
            )
        )
    ended_on = ended_on or timezone.localdate()
    if ended_on < assignment.started_on:
        raise ValidationError(_("An assignment cannot end before it started."))
    assignment.ended_on = ended_on
    assignment.end_reason = reason.strip()[:200]
    assignment.save(update_fields=["ended_on", "end_reason"])
    _cancel_notifications_after_leaving(
        member=assignment.member, practitioner=assignment.practitioner
    )
    return assignment


# Recorded on a notification's delivery when its email is cancelled rather than sent.
CANCELLED_NOT_SENT = "cancelled: the recipient no longer has access to this member"


def _cancel_notifications_after_leaving(*, member: Member, practitioner: Practitioner) -> int:
    """Clear the practitioner's notifications about the member's consultations they no longer
    see, and cancel their queued emails: a conditional update from a sendable state to a
    terminal one, so a worker that has not claimed the row yet never sends it."""
    user = practitioner.user
    lost = Notification.objects.filter(
        recipient=user, consultation__arc__member_id=member.pk
    ).exclude(consultation__in=consultations_visible_to(user).values("pk"))
    lost.filter(read_at__isnull=True).update(read_at=timezone.now())
    return lost.filter(status__in=SENDABLE).update(
        status=DeliveryStatus.GAVE_UP, last_error=CANCELLED_NOT_SENT
    )


def _consultation_addressees(consultation: ConsultationRequest) -> list:
    """The named colleague; else the discipline's practitioners on the member's current
    care team; else the member's hub coordinator, who routes it. Never the whole clinic:
    only people who may see the consultation are asked."""
    if consultation.to_practitioner_id:
        return [consultation.to_practitioner.user]
    team = current_assignments().filter(member_id=consultation.arc.member_id)
    on_team = Practitioner.objects.filter(
        discipline=consultation.to_discipline,
        pk__in=team.values("practitioner_id"),
    ).exclude(pk=consultation.requested_by_id)
    if not on_team.exists():
        on_team = Practitioner.objects.filter(
            pk__in=team.filter(role=TeamRole.HUB_COORDINATOR).values("practitioner_id")
        ).exclude(pk=consultation.requested_by_id)
    return [practitioner.user for practitioner in on_team.select_related("user")]


def _notify(*, consultation: ConsultationRequest, recipients: list, kind: str) -> None:
    from careteam.tasks import send_notification_email

    for recipient in recipients:
        notification, created = Notification.objects.get_or_create(
            recipient=recipient, consultation=consultation, kind=kind
        )
        if created:
            transaction.on_commit(lambda pk=notification.pk: send_notification_email.delay(pk))


def _consultation_transition(consultation: ConsultationRequest, to_status: str) -> None:
    if to_status not in CONSULTATION_TRANSITIONS[consultation.status]:
        raise ValidationError(
            _("A consultation that is %(from)s cannot become %(to)s.")
            % {
                "from": consultation.get_status_display().lower(),
                "to": ConsultationStatus(to_status).label.lower(),
            }
        )
    consultation.status = to_status


def _log_consultation_change(consultation: ConsultationRequest, *, by, detail: str) -> None:
    # A consultation is clinical data about one member's arc: every change is access-logged.
    from arcs.models import AccessAction
    from arcs.services import access_log_record

    access_log_record(
        user=by,
        member_id=consultation.arc.member_id,
        action=AccessAction.CHANGE,
        record_type="consultation",
        record_id=consultation.pk,
        detail=detail,
    )


@transaction.atomic
def consultation_request(
    *,
    arc,
    requested_by: Practitioner,
    to_discipline: Discipline,
    question: str,
    to_practitioner: Practitioner | None = None,
) -> ConsultationRequest:
    from arcs.models import CLOSED_STATUSES, Arc

    # Decide on the arc as it is now, not as the page loaded it.
    arc = Arc.objects.select_for_update().get(pk=arc.pk)
    if arc.status in CLOSED_STATUSES:
        raise ValidationError(_("This arc is closed; it takes no more consultations."))
    if to_practitioner is not None and to_practitioner.discipline_id != to_discipline.pk:
        raise ValidationError(_("The colleague named does not practise that discipline."))
    if to_practitioner is not None and to_practitioner.pk == requested_by.pk:
        raise ValidationError(_("You cannot ask yourself for a consultation."))
    if not question.strip():
        raise ValidationError(_("Write the question."))
    consultation = ConsultationRequest.objects.create(
        arc=arc,
        requested_by=requested_by,
        to_discipline=to_discipline,
        to_practitioner=to_practitioner,
        question=question.strip(),
    )
    recipients = _consultation_addressees(consultation)
    if not recipients:
        raise ValidationError(_("No practitioner of that discipline can be asked yet."))
    _notify(
        consultation=consultation,
        recipients=recipients,
        kind=NotificationKind.CONSULTATION_REQUESTED,
    )
    _log_consultation_change(consultation, by=requested_by.user, detail="requested")
    return consultation


@transaction.atomic
def consultation_answer(
    *, consultation: ConsultationRequest, answered_by: Practitioner, answer: str
) -> ConsultationRequest:
    consultation = ConsultationRequest.objects.select_for_update().get(pk=consultation.pk)
    # Hold the answerer's place on the team while deciding, so a concurrent end of their
    # assignment waits for this answer or is seen by it.
    current_assignments().select_for_update().filter(
        member_id=consultation.arc.member_id, practitioner=answered_by
    ).first()
    if not consultations_answerable_by(answered_by.user).filter(pk=consultation.pk).exists():
        if consultation.status != ConsultationStatus.OPEN:
            _consultation_transition(consultation, ConsultationStatus.ANSWERED)
        raise ValidationError(_("You may not answer this consultation."))
    if not answer.strip():
        raise ValidationError(_("Write the answer."))
    _consultation_transition(consultation, ConsultationStatus.ANSWERED)
    consultation.answer = answer.strip()
    consultation.answered_by = answered_by
    consultation.answered_at = timezone.now()
    consultation.save(update_fields=["status", "answer", "answered_by", "answered_at"])
    _notify(
        consultation=consultation,
        recipients=[consultation.requested_by.user],
        kind=NotificationKind.CONSULTATION_ANSWERED,
    )
    _log_consultation_change(consultation, by=answered_by.user, detail="answered")
    return consultation


@transaction.atomic
def consultation_close(*, consultation: ConsultationRequest, by=None) -> ConsultationRequest:
    consultation = (
        ConsultationRequest.objects.select_for_update()
        .select_related("arc")
        .get(pk=consultation.pk)
    )
    _consultation_transition(consultation, ConsultationStatus.CLOSED)
    consultation.closed_at = timezone.now()
    consultation.save(update_fields=["status", "closed_at"])
    if by is not None:
        _log_consultation_change(consultation, by=by, detail="closed")
    return consultation


def notifications_mark_read(*, user, consultation: ConsultationRequest | None = None) -> int:
    """Mark the user's unread notifications read (only those about one consultation if given)."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if consultation is not None:
        unread = unread.filter(consultation=consultation)
    return unread.update(read_at=timezone.now())


def _notification_email(notification: Notification):
    from django.conf import settings
    from django.template.loader import render_to_string
    from django.utils import translation

    from clinic.email import clinic_email
    from clinic.languages import user_language

    # The email says that there is something to read and where, never the clinical content.
    # In the language the clinician chose (the clinic's when they chose none).
    with translation.override(user_language(notification.recipient)):
        context = {
            "notification": notification,
            "CLINIC_NAME": settings.CLINIC_NAME,
            "link": absolute(
                reverse("careteam:consultation_detail", args=[notification.consultation_id])
            ),
        }
        subject = render_to_string("careteam/email/notification_subject.txt", context).strip()
        return clinic_email(
            subject=subject,
            text_template="careteam/email/notification_body.txt",
            html_template="careteam/email/notification_body.html",
            context=context,
            to=[notification.recipient.email],
        )


@transaction.atomic
def notification_email_requeue(*, notification_id: int) -> bool:
    """A hub coordinator checked that a failed or unknown notification email did not arrive:
    send it again. Returns False (nothing changes) for one queued, in flight or sent, and
    for one cancelled because its recipient left the care team."""
    from careteam.tasks import send_notification_email

    requeued = delivery_requeue(
        Notification.objects.exclude(last_error=CANCELLED_NOT_SENT), notification_id
    )
    if requeued:
        transaction.on_commit(lambda: send_notification_email.delay(notification_id))
    return requeued


def notification_email_send(*, notification_id: int, final_attempt: bool = False) -> str:
    """Email one notification, at most once (``clinic.delivery.deliver_once``).

    Not atomic: the claim must commit before the send. The recipient's access is checked
    again before claiming: a notification about a member whose care team they left is
    cancelled, never sent (``care_team_end`` cancels queued ones in its own transaction;
    this catches a row requeued or queued around it).
    """
    rows = Notification.objects.select_related(
        "recipient", "consultation__requested_by__user", "consultation__to_discipline"
    )
    notification = rows.get(pk=notification_id)
    if not notifications_visible_to(notification.recipient).filter(pk=notification_id).exists():
        Notification.objects.filter(pk=notification_id, status__in=SENDABLE).update(
            status=DeliveryStatus.GAVE_UP, last_error=CANCELLED_NOT_SENT
        )
        return DeliveryStatus(
            Notification.objects.values_list("status", flat=True).get(pk=notification_id)
        )
    return deliver_once(
        rows, notification_id, build=_notification_email, final_attempt=final_attempt
    )


# --- Expressions of interest from practitioners ---------------------------------------------


@transaction.atomic
def interest_submit(
    *, name: str, email: str, discipline: Discipline | None, message: str, language: str = ""
) -> ExpressionOfInterest:
    """Record a practitioner's expression of interest for the hub coordinator and the
    administrators to read and answer (a record, not only an email)."""
    return ExpressionOfInterest.objects.create(
        name=name.strip(),
        email=email.strip(),
        discipline=discipline,
        message=message.strip(),
        language=language,
    )


def _interest_locked(expression_id: int, *, to: str) -> ExpressionOfInterest:
    expression = ExpressionOfInterest.objects.select_for_update().get(pk=expression_id)
    if to not in INTEREST_TRANSITIONS[expression.status]:
        raise ValidationError(
            _("This expression of interest is %(status)s already.")
            % {"status": expression.get_status_display().lower()}
        )
    return expression


def interest_answer(*, expression_id: int, text: str, answered_by) -> InterestAnswer:
    """Answer a new expression of interest: the answer is kept and emailed to the person.

    The row is locked while its status is checked, so two staff answering at once give
    one answer and one email; the other is told it was answered already.
    """
    from careteam import tasks

    text = text.strip()
    if not text:
        raise ValidationError(_("Write the answer to send."))
    with transaction.atomic():
        expression = _interest_locked(expression_id, to=InterestStatus.ANSWERED)
        answer = InterestAnswer.objects.create(
            expression=expression, text=text, answered_by=answered_by
        )
        expression.status = InterestStatus.ANSWERED
        expression.save(update_fields=["status"])
        answer_id = answer.pk
        transaction.on_commit(lambda: tasks.send_interest_answer.delay(answer_id))
    return answer


@transaction.atomic
def interest_close(*, expression_id: int, closed_by) -> ExpressionOfInterest:
    """Close an expression of interest (answered, or one that needs no answer)."""
    expression = _interest_locked(expression_id, to=InterestStatus.CLOSED)
    expression.status = InterestStatus.CLOSED
    expression.closed_at = timezone.now()
    expression.closed_by = closed_by
    expression.save(update_fields=["status", "closed_at", "closed_by"])
    return expression


def _interest_answer_message(answer: InterestAnswer):
    from django.conf import settings
    from django.core.mail import EmailMessage
    from django.template.loader import render_to_string
    from django.utils import translation

    expression = answer.expression
    context = {
        "answer": answer,
        "expression": expression,
        "CLINIC_NAME": settings.CLINIC_NAME,
        "CLINIC_ADDRESS": settings.CLINIC_ADDRESS,
    }
    with translation.override(expression.language or settings.LANGUAGE_CODE):
        subject = render_to_string("careteam/email/interest_answer_subject.txt", context).strip()
        body = render_to_string("careteam/email/interest_answer.txt", context)
    return EmailMessage(subject=subject, body=body, to=[expression.email])


def interest_answer_send(*, answer_id: int, final_attempt: bool = False) -> str:
    """Email one answer at most once (``clinic.delivery.deliver_once``)."""
    return deliver_once(
        InterestAnswer.objects.select_related("expression"),
        answer_id,
        build=_interest_answer_message,
        final_attempt=final_attempt,
    )
