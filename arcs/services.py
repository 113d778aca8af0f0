"""Writes of arcs of care. Each plan change leaves a version; each change an access-log row."""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from arcs.models import (
    ARC_TRANSITIONS,
    CLOSED_STATUSES,
    OPEN_STATUSES,
    AccessAction,
    AccessLogEntry,
    Arc,
    ArcReview,
    ArcStatus,
    ArcStatusChange,
    ArcVersion,
    Direction,
    Goal,
    Intervention,
    Measurement,
    NoteVisibility,
    OutcomeMeasure,
    Phase,
    ProgressNote,
    ReviewOutcome,
)
from arcs.ucum import ucum_code_for, validate_ucum_code
from clinic.roles import Role, has_role

ARC_PLAN_FIELDS = ("title", "endpoint", "lead_discipline", "review_every_days", "next_review_on")


def access_log_record(
    *, user, member_id: int, action: str, record_type: str, record_id: int | None, detail: str = ""
) -> AccessLogEntry:
    """Append one row to the access log of clinical data."""
    return AccessLogEntry.objects.create(
        user=user,
        member_id=member_id,
        action=action,
        record_type=record_type,
        record_id=record_id,
        detail=detail[:200],
    )


def access_denied_record(
    *, user, path: str, record_type: str, record_id: int | None
) -> AccessLogEntry:
    """Append a refused request for a clinical or financial record: who, which address
    and kind of record, when. No member: a guessed id must not be tied to whose it is."""
    return AccessLogEntry.objects.create(
        user=user,
        member=None,
        action=AccessAction.DENIED,
        record_type=record_type,
        record_id=record_id,
        detail=path[:200],
    )


def access_list_record(*, user, list_name: str, path: str) -> AccessLogEntry:
    """Append one "list viewed" entry: a page that shows many members' clinical content."""
    return AccessLogEntry.objects.create(
        user=user,
        member=None,
        action=AccessAction.LIST,
        record_type=list_name,
        record_id=None,
        detail=path[:200],
    )


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def arc_snapshot(arc: Arc) -> dict:
    """The arc's plan as plain JSON: what a version records and a diff compares."""
    return {
        "arc": {
            "title": arc.title,
            "endpoint": arc.endpoint,
            "lead_discipline": arc.lead_discipline.name,
            "status": arc.status,
            "discontinued_reason": arc.discontinued_reason,
            "review_every_days": arc.review_every_days,
            "next_review_on": _plain(arc.next_review_on),
        },
        "goals": {
            str(goal.pk): {
                "description": goal.description,
                "measure": goal.measure.name,
                "baseline": _plain(goal.baseline),
                "target": _plain(goal.target),
                "target_date": _plain(goal.target_date),
                "removed_on": _plain(goal.removed_on),
            }
            for goal in arc.goals.select_related("measure").order_by("pk")
        },
        "phases": {
            str(phase.pk): {
                "name": phase.name,
                "planned_start": _plain(phase.planned_start),
                "planned_end": _plain(phase.planned_end),
                "removed_on": _plain(phase.removed_on),
            }
            for phase in arc.phases.order_by("pk")
        },
        "interventions": {
            str(item.pk): {
                "description": item.description,
                "discipline": item.discipline.name,
                "practitioner": item.practitioner.user.get_full_name() if item.practitioner else "",
                "frequency": item.frequency,
                "starts_on": _plain(item.starts_on),
                "ends_on": _plain(item.ends_on),
                "removed_on": _plain(item.removed_on),
            }
            for item in arc.interventions.select_related(
                "discipline", "practitioner__user"
            ).order_by("pk")
        },
    }


def _locked_arc(arc: Arc) -> Arc:
    """The arc re-read under a row lock: every plan write decides on this fresh copy, never
    on the one the page loaded, and concurrent writes to one arc queue here."""
    return Arc.objects.select_for_update().select_related("lead_discipline").get(pk=arc.pk)


def _locked_item(model, item, arc: Arc):
    """A plan item re-read under a row lock (after its arc's lock), checked to be in the
    plan still: a colleague may have removed it since the page loaded."""
    fresh = model.objects.select_for_update().get(pk=item.pk, arc_id=arc.pk)
    if fresh.removed_on is not None:
        raise ValidationError(_("This item was removed from the plan; it can no longer change."))
    return fresh


def latest_version_number(arc: Arc) -> int:
    return arc.versions.aggregate(n=Max("number"))["n"] or 0


def _changes_since(arc: Arc, number: int) -> list[dict]:
    """What changed in the plan after version ``number`` (field by field)."""
    from arcs.selectors import snapshot_diff

    versions = {v.number: v.snapshot for v in arc.versions.filter(number__gte=number)}
    latest = max(versions) if versions else number
    return snapshot_diff(versions.get(number, {}), versions.get(latest, {}))


def _conflict(arc: Arc, number: int, changes: list[dict]) -> ValidationError:
    shown = "; ".join(
        " ".join(part for part in (str(c["section"]), c["item"], c["field"]) if part)
        + f": {c['before'] or '—'} → {c['after'] or '—'}"
        for c in changes[:10]
    )
    return ValidationError(
        _(
            "A colleague changed this plan after you opened it (version %(from)s, now "
            "%(to)s): %(changes)s. Nothing was saved: check their change and save again."
        )
        % {"from": number, "to": latest_version_number(arc), "changes": shown}
    )


def _record_version(*, arc: Arc, by, summary: str) -> ArcVersion:
    # Callers hold the arc's row lock (_locked_arc), so versions get consecutive numbers
    # and the snapshot is taken from the rows as this change leaves them.
    number = latest_version_number(arc) + 1
    Arc.objects.filter(pk=arc.pk).update(last_activity_at=timezone.now())
    version = ArcVersion.objects.create(
        arc=arc, number=number, snapshot=arc_snapshot(arc), summary=summary[:200], changed_by=by
    )
    access_log_record(
        user=by,
        member_id=arc.member_id,
        action=AccessAction.CHANGE,
        record_type="arc",
        record_id=arc.pk,
        detail=summary,
    )
    return version


def _refuse_if_closed(arc: Arc) -> None:
    if arc.status in CLOSED_STATUSES:
        raise ValidationError(
            _("This arc is %(status)s; its plan can no longer change.")
            % {"status": arc.get_status_display().lower()}
        )


@transaction.atomic
def arc_create(
    *,
    member,
    title: str,
    endpoint: str,
    lead_discipline,
    by,
    review_every_days: int = 28,
    next_review_on: datetime.date | None = None,
) -> Arc:
    arc = Arc.objects.create(
        member=member,
        title=title,
        endpoint=endpoint,
        lead_discipline=lead_discipline,
        review_every_days=review_every_days,
        next_review_on=next_review_on,
        last_activity_at=timezone.now(),
    )
    _record_version(arc=arc, by=by, summary=_("Arc created"))
    return arc


def _snapshot_value(name: str, value):
    if name == "lead_discipline":
        return value.name if value is not None else None
    return _plain(value)


@transaction.atomic
def arc_update_plan(*, arc: Arc, by, expected_version: int | None = None, **changes) -> Arc:
    """Change the arc's own plan fields.

    ``expected_version`` is the version the form was opened at. Fields a colleague changed
    since are merged three ways: left as they are now when this form did not touch them,
    refused (with what changed) when this form changed them too. No change, no version.
    """
    arc = _locked_arc(arc)
    _refuse_if_closed(arc)
    unknown = set(changes) - set(ARC_PLAN_FIELDS)
    if unknown:
        raise ValueError(f"Not plan fields: {sorted(unknown)}")
    if expected_version is not None and expected_version != latest_version_number(arc):
        since = arc.versions.filter(number=expected_version).first()
        opened = since.snapshot.get("arc", {}) if since else {}
        conflicts = []
        for name in list(changes):
            submitted = _snapshot_value(name, changes[name])
            current = _snapshot_value(name, getattr(arc, name))
            if name in opened and opened[name] != current:
                if submitted == opened[name]:
                    del changes[name]  # untouched here: keep the colleague's value
                elif submitted != current:
                    conflicts.append(name)
        if conflicts or not since:
            raise _conflict(
                arc,
                expected_version,
                [
                    c
                    for c in _changes_since(arc, expected_version)
                    if not conflicts or c["field"] in {n.replace("_", " ") for n in conflicts}
                ],
            )
    changed = [name for name, value in changes.items() if getattr(arc, name) != value]
    if not changed:
        return arc
    for name in changed:
        setattr(arc, name, changes[name])
    arc.save(update_fields=changed)
    labels = ", ".join(str(Arc._meta.get_field(name).verbose_name) for name in changed)
    _record_version(arc=arc, by=by, summary=_("Plan changed: %(fields)s") % {"fields": labels})
    return arc


@transaction.atomic
def arc_transition(*, arc: Arc, to_status: str, by, reason: str = "") -> Arc:
    """The one place arcs change status; refuses moves the status machine does not allow."""
    arc = Arc.objects.select_for_update().get(pk=arc.pk)
    if to_status not in ARC_TRANSITIONS[arc.status]:
        raise ValidationError(
            _("An arc that is %(from)s cannot become %(to)s.")
            % {
                "from": arc.get_status_display().lower(),
                "to": ArcStatus(to_status).label.lower(),
            }
        )
    reason = reason.strip()
    if to_status == ArcStatus.DISCONTINUED and not reason:
        raise ValidationError(_("Give the reason for discontinuing the arc."))
    if to_status == ArcStatus.ACTIVE and not arc.goals.filter(removed_on__isnull=True).exists():
        raise ValidationError(_("An arc needs at least one measurable goal before it starts."))
    today = timezone.localdate()
    from_status = arc.status
    arc.status = to_status
    if to_status == ArcStatus.ACTIVE and arc.activated_on is None:
        arc.activated_on = today
        if arc.next_review_on is None:
            arc.next_review_on = today + datetime.timedelta(days=arc.review_every_days)
    if to_status in CLOSED_STATUSES:
        arc.closed_on = today
    if to_status == ArcStatus.DISCONTINUED:
        arc.discontinued_reason = reason
    arc.save(
        update_fields=[
            "status", "activated_on", "closed_on", "discontinued_reason", "next_review_on",
        ]
    )  # fmt: skip
    ArcStatusChange.objects.create(
        arc=arc, from_status=from_status, to_status=to_status, reason=reason, changed_by=by
    )
    _record_version(
        arc=arc,
        by=by,
        summary=_("Status: %(from)s → %(to)s")
        % {"from": ArcStatus(from_status).label, "to": ArcStatus(to_status).label},
    )
    return arc


@transaction.atomic
def arc_record_review(*, arc: Arc, by, notes: str, outcome: str) -> ArcReview:
    """A review took place today: what was found and decided is kept on the review, and
    the next one is due one cadence later (none when the decision is to close the arc,
    which then goes through ``arc_transition`` with its own confirmation)."""
    arc = _locked_arc(arc)
    _refuse_if_closed(arc)
    if arc.status == ArcStatus.DRAFT:
        raise ValidationError(_("Reviews start when the arc is active."))
    if outcome not in ReviewOutcome.values:
        raise ValidationError({"outcome": _("Choose what the review decided.")})
    notes = notes.strip()
    if not notes:
        raise ValidationError({"notes": _("Write what the review found.")})
    today = timezone.localdate()
    # A confirmation sent twice (double click, browser retry) records one review: under the
    # arc's lock, the same review by the same person today is the one already kept.
    already = ArcReview.objects.filter(
        arc=arc, held_on=today, recorded_by=by, notes=notes, outcome=outcome
    ).first()
    if already is not None:
        return already
    arc.next_review_on = today + datetime.timedelta(days=arc.review_every_days)
    arc.save(update_fields=["next_review_on"])
    review = ArcReview.objects.create(
        arc=arc,
        held_on=today,
        notes=notes,
        outcome=outcome,
        next_review_on=arc.next_review_on,
        recorded_by=by,
    )
    _record_version(
        arc=arc,
        by=by,
        summary=_("Review held: %(outcome)s") % {"outcome": ReviewOutcome(outcome).label},
    )
    return review


def _item_snapshot(arc: Arc, section: str, item_pk: int, number: int | None) -> dict | None:
    if number is None:
        return arc_snapshot(arc)[section].get(str(item_pk))
    version = arc.versions.filter(number=number).first()
    return version.snapshot.get(section, {}).get(str(item_pk)) if version else None


def _save_plan_item(
    *, arc: Arc, item, fields: dict, by, kind: str, expected_version: int | None = None
):
    """Add or change one plan item, deciding on the arc and the item re-read under lock."""
    arc = _locked_arc(arc)
    _refuse_if_closed(arc)
    creating = item.pk is None
    if item.removed_on is not None:
        raise ValidationError(_("This item was removed from the plan; it can no longer change."))
    if not creating:
        item = _locked_item(type(item), item, arc)
        section = {Goal: "goals", Phase: "phases", Intervention: "interventions"}[type(item)]
        if expected_version is not None and expected_version != latest_version_number(arc):
            # Only a change to this very item conflicts; other items' changes stand.
            then = _item_snapshot(arc, section, item.pk, expected_version)
            if then != _item_snapshot(arc, section, item.pk, None):
                raise _conflict(
                    arc,
                    expected_version,
                    [c for c in _changes_since(arc, expected_version) if c["item"] == str(item)],
                )
        if all(getattr(item, name) == value for name, value in fields.items()):
            return item  # saving with no change records no version
    for name, value in fields.items():
        setattr(item, name, value)
    item.arc = arc
    item.full_clean()
    item.save()
    summary = (_("%(kind)s added: %(item)s") if creating else _("%(kind)s changed: %(item)s")) % {
        "kind": kind,
        "item": str(item),
    }
    _record_version(arc=arc, by=by, summary=summary)
    return item


def goal_range_errors(*, measure: OutcomeMeasure, baseline, target) -> dict[str, str]:
    """A goal's baseline and target lie in its measure's valid range."""
    errors = {}
    for name, value in (("baseline", baseline), ("target", target)):
        error = measurement_value_error(measure=measure, value=value)
        if error:
            errors[name] = error
    return errors


def goal_target_error(*, measure: OutcomeMeasure, baseline, target) -> str | None:
    """A goal's target lies from its baseline in the direction its measure improves."""
    if baseline is None or target is None or measure is None:
        return None
    if measure.direction == Direction.LOWER_IS_BETTER and not target < baseline:
        return _("Lower is better for %(measure)s: the target must be below the baseline.") % {
            "measure": measure.name
        }
    if measure.direction == Direction.HIGHER_IS_BETTER and not target > baseline:
        return _("Higher is better for %(measure)s: the target must be above the baseline.") % {
            "measure": measure.name
        }
    return None


@transaction.atomic
def goal_save(
    *, arc: Arc, by, goal: Goal | None = None, expected_version: int | None = None, **fields
) -> Goal:
    merged = {
        name: fields.get(name, getattr(goal, name, None))
        for name in ("measure", "baseline", "target")
    }
    range_errors = goal_range_errors(**merged)
    if range_errors:
        raise ValidationError(range_errors)
    error = goal_target_error(**merged) if all(v is not None for v in merged.values()) else None
    if error:
        raise ValidationError({"target": error})
    return _save_plan_item(
        arc=arc,
        item=goal or Goal(),
        fields=fields,
        by=by,
        kind=_("Goal"),
        expected_version=expected_version,
    )


@transaction.atomic
def phase_save(
    *, arc: Arc, by, phase: Phase | None = None, expected_version: int | None = None, **fields
) -> Phase:
    return _save_plan_item(
        arc=arc,
        item=phase or Phase(),
        fields=fields,
        by=by,
        kind=_("Phase"),
        expected_version=expected_version,
    )


@transaction.atomic
def intervention_save(
    *,
    arc: Arc,
    by,
    intervention: Intervention | None = None,
    expected_version: int | None = None,
    **fields,
) -> Intervention:
    from careteam.selectors import current_assignments

    item = intervention or Intervention()
    practitioner = fields.get("practitioner")
    if practitioner is not None and practitioner.discipline_id != fields["discipline"].pk:
        raise ValidationError(_("The responsible practitioner does not practise that discipline."))
    if practitioner is not None and (
        practitioner.pk != item.practitioner_id
        and not current_assignments()
        .filter(member_id=arc.member_id, practitioner=practitioner)
        .exists()
    ):
        raise ValidationError(
            _("The responsible practitioner must be on the member's current care team.")
        )
    return _save_plan_item(
        arc=arc,
        item=item,
        fields=fields,
        by=by,
        kind=_("Intervention"),
        expected_version=expected_version,
    )


def _remove_plan_item(*, arc: Arc, item, by, kind: str, reason: str, **also) -> None:
    # The caller holds the arc's lock; ``item`` is the row re-read under lock.
    _refuse_if_closed(arc)
    if item.removed_on is not None:
        raise ValidationError(_("This item is already removed from the plan."))
    item.removed_on = timezone.localdate()
    item.removal_reason = reason.strip()[:200]
    for name, value in also.items():
        setattr(item, name, value)
    item.save(update_fields=["removed_on", "removal_reason", *also])
    summary = _("%(kind)s removed: %(item)s") % {"kind": kind, "item": str(item)}
    if item.removal_reason:
        summary = f"{summary} ({item.removal_reason})"
    _record_version(arc=arc, by=by, summary=summary)


def _fresh_for_removal(model, item, arc: Arc):
    return model.objects.select_for_update().get(pk=item.pk, arc_id=arc.pk)


@transaction.atomic
def goal_remove(*, arc: Arc, goal: Goal, by, reason: str = "") -> Goal:
    """Take a goal out of the plan; its measures stay on the arc."""
    arc = _locked_arc(arc)
    goal = _fresh_for_removal(Goal, goal, arc)
    others = arc.goals.filter(removed_on__isnull=True).exclude(pk=goal.pk)
    if arc.status in OPEN_STATUSES and not others.exists():
        raise ValidationError(
            _("An arc under way keeps at least one measurable goal: add another one first.")
        )
    _remove_plan_item(arc=arc, item=goal, by=by, kind=_("Goal"), reason=reason)
    return goal


@transaction.atomic
def phase_remove(*, arc: Arc, phase: Phase, by, reason: str = "") -> Phase:
    arc = _locked_arc(arc)
    phase = _fresh_for_removal(Phase, phase, arc)
    _remove_plan_item(arc=arc, item=phase, by=by, kind=_("Phase"), reason=reason)
    return phase


@transaction.atomic
def intervention_remove(
    *, arc: Arc, intervention: Intervention, by, reason: str = ""
) -> Intervention:
    """End an intervention today, or cancel it if it has not started yet."""
    arc = _locked_arc(arc)
    intervention = _fresh_for_removal(Intervention, intervention, arc)
    today = timezone.localdate()
    also = {}
    started = intervention.starts_on <= today
    if started and (intervention.ends_on is None or intervention.ends_on > today):
        also["ends_on"] = today
    _remove_plan_item(
        arc=arc, item=intervention, by=by, kind=_("Intervention"), reason=reason, **also
    )
    return intervention


def measurement_value_error(*, measure: OutcomeMeasure, value) -> str | None:
    """A value outside the measure's valid range is a typing error (15 on a 0-10 scale)."""
    if measure is None or value is None:
        return None
    if not measure.min_value <= value <= measure.max_value:
        return _("%(measure)s goes from %(low)s to %(high)s%(unit)s: %(value)s is outside.") % {
            "measure": measure.name,
            "low": f"{measure.min_value.normalize():f}",
            "high": f"{measure.max_value.normalize():f}",
            "unit": f" {measure.unit}" if measure.unit else "",
            "value": f"{value.normalize():f}",
        }
    return None


def _check_measurement(*, arc: Arc, measure: OutcomeMeasure, value, measured_on) -> None:
    error = measurement_value_error(measure=measure, value=value)
    if error:
        raise ValidationError({"value": error})
    if measured_on > timezone.localdate():
        raise ValidationError({"measured_on": _("A measure cannot be dated in the future.")})
    # A baseline taken while the arc was a draft counts; nothing from before the arc.
    created_on = timezone.localdate(arc.created_at)
    if measured_on < created_on:
        raise ValidationError(
            {
                "measured_on": _("A measure cannot be dated before the arc began (%(date)s).")
                % {"date": created_on.isoformat()}
            }
        )


@transaction.atomic
def measurement_record(
    *, arc: Arc, measure: OutcomeMeasure, value: Decimal, measured_on: datetime.date, by
) -> Measurement:
    arc = _locked_arc(arc)
    if arc.status not in (ArcStatus.ACTIVE, ArcStatus.ON_HOLD):
        raise ValidationError(_("Measures are recorded on active or on-hold arcs only."))
    _check_measurement(arc=arc, measure=measure, value=value, measured_on=measured_on)
    measurement = Measurement.objects.create(
        arc=arc, measure=measure, value=value, measured_on=measured_on, recorded_by=by
    )
    Arc.objects.filter(pk=arc.pk).update(last_activity_at=timezone.now())
    access_log_record(
        user=by,
        member_id=arc.member_id,
        action=AccessAction.CHANGE,
        record_type="measurement",
        record_id=measurement.pk,
        detail=f"{measure.name} {value}",
    )
    return measurement


def may_correct_measurement(user, measurement: Measurement) -> bool:
    """Its author or the hub coordinator (who holds the arc strategy) may correct it."""
    return measurement.recorded_by_id == user.pk or has_role(user, Role.HUB_COORDINATOR)


def _correctable(arc: Arc, measurement: Measurement, by) -> Measurement:
    """The measurement re-read under lock (after its arc's), checked to still stand."""
    if not may_correct_measurement(by, measurement):
        raise ValidationError(
            _("Only the person who recorded a measure, or the hub coordinator, may correct it.")
        )
    fresh = Measurement.objects.select_for_update().get(pk=measurement.pk, arc_id=arc.pk)
    if fresh.struck_out or Measurement.objects.filter(corrects=fresh).exists():
        raise ValidationError(
            _("This value was already corrected or struck out: correct the current one.")
        )
    return fresh


@transaction.atomic
def measurement_correct(
    *,
    arc: Arc,
    measurement: Measurement,
    value: Decimal,
    measured_on: datetime.date,
    reason: str,
    by,
) -> Measurement:
    """Replace a value entered in error: a new row points at it; the original stays."""
    arc = _locked_arc(arc)
    original = _correctable(arc, measurement, by)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the value is corrected.")})
    _check_measurement(arc=arc, measure=original.measure, value=value, measured_on=measured_on)
    if value == original.value and measured_on == original.measured_on:
        raise ValidationError(_("The correction is the same as the value it corrects."))
    try:
        with transaction.atomic():
            correction = Measurement.objects.create(
                arc=arc,
                measure=original.measure,
                value=value,
                measured_on=measured_on,
                recorded_by=by,
                corrects=original,
                reason=reason[:200],
            )
    except IntegrityError as error:  # pragma: no cover - the row lock queues a second one
        raise ValidationError(_("This value was corrected meanwhile.")) from error
    access_log_record(
        user=by,
        member_id=arc.member_id,
        action=AccessAction.CHANGE,
        record_type="measurement",
        record_id=correction.pk,
        detail=f"{original.measure.name} {original.value} → {value} ({reason})",
    )
    return correction


@transaction.atomic
def measurement_strike_out(*, arc: Arc, measurement: Measurement, reason: str, by) -> Measurement:
    """Withdraw a value entered in error (wrong member, never measured): a new row with no
    value points at it, so the chart drops it and the history keeps both."""
    arc = _locked_arc(arc)
    original = _correctable(arc, measurement, by)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the value is struck out.")})
    strike = Measurement.objects.create(
        arc=arc,
        measure=original.measure,
        value=None,
        measured_on=original.measured_on,
        recorded_by=by,
        corrects=original,
        struck_out=True,
        reason=reason[:200],
    )
    access_log_record(
        user=by,
        member_id=arc.member_id,
        action=AccessAction.CHANGE,
        record_type="measurement",
        record_id=strike.pk,
        detail=f"{original.measure.name} {original.value} struck out ({reason})",
    )
    return strike


@transaction.atomic
def note_add(*, arc: Arc, text: str, visibility: str, by) -> ProgressNote:
    arc = _locked_arc(arc)
    if arc.status == ArcStatus.DRAFT:
        raise ValidationError(_("Progress notes start when the arc is active."))
    if visibility not in NoteVisibility.values:
        raise ValidationError(_("Choose who can read the note."))
    if not text.strip():
        raise ValidationError(_("Write the note."))
    note = ProgressNote.objects.create(arc=arc, text=text.strip(), visibility=visibility, author=by)
    Arc.objects.filter(pk=arc.pk).update(last_activity_at=timezone.now())
    access_log_record(
        user=by,
        member_id=arc.member_id,
        action=AccessAction.CHANGE,
        record_type="note",
        record_id=note.pk,
        detail=str(NoteVisibility(visibility).label),
    )
    return note


def _free_slug(name: str) -> str:
    base = slugify(name)[:40] or "measure"
    taken = set(OutcomeMeasure.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def outcome_measure_define(
    *,
    name: str,
    unit: str,
    direction: str,
    min_value: Decimal,
    max_value: Decimal,
    ucum_code: str = "",
    loinc_code: str = "",
) -> OutcomeMeasure:
    """Define a measure; its slug comes from its name, its UCUM code from the unit when
    the unit is an everyday spelling of one (``mmHg`` → ``mm[Hg]``) and none is given."""
    ucum_code = ucum_code.strip() or ucum_code_for(unit)
    try:
        validate_ucum_code(ucum_code)
    except ValidationError as error:
        raise ValidationError({"ucum_code": error.messages}) from error
    if min_value is not None and max_value is not None and not min_value < max_value:
        raise ValidationError({"max_value": _("The highest value must be above the lowest.")})
    measure = OutcomeMeasure(
        name=name,
        unit=unit,
        direction=direction,
        slug=_free_slug(name),
        loinc_code=loinc_code,
        ucum_code=ucum_code,
        min_value=min_value,
        max_value=max_value,
    )
    measure.full_clean()
    measure.save()
    return measure
