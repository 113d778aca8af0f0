"""Writes of care teams and consultations. Every write that matters goes through here."""

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from careteam.models import (
    CareTeamAssignment,
    ConsultationRequest,
    ConsultationStatus,
    Discipline,
    Notification,
    NotificationKind,
    Practitioner,
    TeamRole,
)
from careteam.selectors import current_assignments
from clinic.roles import Role, has_role
from members.models import Member

# The consultation's status machine: which statuses each status may move to.
CONSULTATION_TRANSITIONS: dict[str, frozenset[str]] = {
    ConsultationStatus.OPEN: frozenset({ConsultationStatus.ANSWERED, ConsultationStatus.CLOSED}),
    ConsultationStatus.ANSWERED: frozenset({ConsultationStatus.CLOSED}),
    ConsultationStatus.CLOSED: frozenset(),
}


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

    Assigning a hub coordinator hands the hub function over: the previous holder's
    assignment ends the same day, so the team always has exactly one.
    """
    started_on = started_on or timezone.localdate()
    if role == TeamRole.HUB_COORDINATOR and not has_role(practitioner.user, Role.HUB_COORDINATOR):
        raise ValidationError(
            _("%(name)s is not a hub coordinator.") % {"name": practitioner.user.get_full_name()}
        )
    # Lock the member's current team so two coordinators assigning at once cannot both win.
    team = list(current_assignments().select_for_update().filter(member=member))
    for assignment in team:
        if assignment.practitioner_id == practitioner.pk and assignment.role == role:
            raise ValidationError(_("This practitioner is already on the care team in that role."))
    for assignment in team:
        replaced_hub = role == TeamRole.HUB_COORDINATOR and assignment.role == role
        if assignment.practitioner_id == practitioner.pk or replaced_hub:
            assignment.ended_on = max(started_on, assignment.started_on)
            assignment.save(update_fields=["ended_on"])
    try:
        with transaction.atomic():
            return CareTeamAssignment.objects.create(
                member=member,
                practitioner=practitioner,
                role=role,
                started_on=started_on,
                assigned_by=by,
            )
    except IntegrityError as error:
        raise ValidationError(_("The care team changed meanwhile; please try again.")) from error


@transaction.atomic
def care_team_end(
    *, assignment: CareTeamAssignment, by, ended_on: datetime.date | None = None
) -> CareTeamAssignment:
    """End a practitioner's place on a care team; the hub function is handed over instead."""
    if assignment.ended_on is not None:
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
    assignment.save(update_fields=["ended_on"])
    return assignment


def _consultation_addressees(consultation: ConsultationRequest) -> list:
    """The named colleague; else the discipline's practitioners on the member's current
    care team; else every practitioner of the discipline."""
    if consultation.to_practitioner_id:
        return [consultation.to_practitioner.user]
    of_discipline = Practitioner.objects.filter(discipline=consultation.to_discipline).exclude(
        pk=consultation.requested_by_id
    )
    on_team = of_discipline.filter(
        pk__in=current_assignments()
        .filter(member_id=consultation.arc.member_id)
        .values("practitioner_id")
    )
    chosen = on_team if on_team.exists() else of_discipline
    return [practitioner.user for practitioner in chosen.select_related("user")]


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
    from arcs.models import CLOSED_STATUSES

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


@transaction.atomic
def notification_email_send(*, notification_id: int) -> bool:
    """Email one notification, once: a retried or repeated task sends nothing more."""
    from django.conf import settings
    from django.core.mail import send_mail
    from django.template.loader import render_to_string
    from django.utils import translation

    notification = (
        Notification.objects.select_for_update()
        .select_related(
            "recipient", "consultation__requested_by__user", "consultation__to_discipline"
        )
        .get(pk=notification_id)
    )
    if notification.emailed_at is not None:
        return False
    # The email says that there is something to read and where, never the clinical content.
    with translation.override(settings.LANGUAGE_CODE):
        context = {"notification": notification, "CLINIC_NAME": settings.CLINIC_NAME}
        subject = render_to_string("careteam/email/notification_subject.txt", context).strip()
        body = render_to_string("careteam/email/notification_body.txt", context)
    send_mail(subject, body, None, [notification.recipient.email])
    notification.emailed_at = timezone.now()
    notification.save(update_fields=["emailed_at"])
    return True
