import datetime
import json

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from arcs import charts, selectors, services
from arcs.fhir import member_bundle
from arcs.forms import (
    AccessLogFilterForm,
    ArcForm,
    GoalForm,
    InterventionForm,
    MeasurementCorrectionForm,
    MeasurementForm,
    NoteForm,
    OutcomeMeasureForm,
    PhaseForm,
    PlanItemRemoveForm,
    ReviewForm,
    StatusForm,
)
from arcs.models import (
    CLOSED_STATUSES,
    AccessAction,
    ArcStatus,
    Goal,
    Intervention,
    Measurement,
    OutcomeMeasure,
    Phase,
    ReviewOutcome,
)
from careteam.forms import DashboardFilterForm
from careteam.selectors import care_team_of, members_in_care_of
from clinic.access import role_required
from clinic.roles import Role, has_role
from members.models import Member
from members.selectors import member_for_user


def _log_view(request: HttpRequest, arc, detail: str = "") -> None:
    services.access_log_record(
        user=request.user,
        member_id=arc.member_id,
        action=AccessAction.VIEW,
        record_type="arc",
        record_id=arc.pk,
        detail=detail,
    )


def _arc_context(
    arc, *, member_view: bool, team: list | None = None, plan_prefetched: bool = False
) -> dict:
    """Everything the arc pages show, fetched in a fixed number of queries.

    ``team``: the member's care team when the caller has it already; ``plan_prefetched``:
    the arc's plan was read by ``selectors.arcs_with_plans``, so the arc is not read again.
    """
    if not plan_prefetched:
        arc = selectors.arc_with_plan(arc, shared_notes_only=member_view)
    start = arc.activated_on or arc.created_at.date()
    progress = selectors.goal_progress(arc)
    return {
        "arc": arc,
        "phase": selectors.current_phase(arc),
        "upcoming": selectors.upcoming_interventions(arc),
        "team": team if team is not None else list(care_team_of(arc.member)),
        "goals": [
            {"progress": item, "chart": charts.goal_chart(item, start=start)} for item in progress
        ],
        "phases": selectors.plan_phases(arc),
        "interventions": selectors.plan_interventions(arc),
        "removed_goals": [
            goal for goal in selectors.plan_goals(arc) if goal.removed_on is not None
        ],
        "notes": selectors.plan_notes(arc),
        "plan_open": arc.status not in CLOSED_STATUSES,
    }


def _measurement_rows(request: HttpRequest, arc, *, can_change: bool) -> list[dict]:
    """Every value recorded (latest first), with whether this user may correct it."""
    return [
        {
            "measurement": m,
            "can_correct": can_change
            and not m.superseded
            and not m.struck_out
            and services.may_correct_measurement(request.user, m),
        }
        for m in sorted(arc.measurements.all(), key=lambda m: (m.measured_on, m.pk), reverse=True)
    ]


def _is_htmx(request: HttpRequest) -> bool:
    """An htmx request wants a fragment back; a plain form post gets a redirect."""
    return request.headers.get("HX-Request") == "true"


def _clinician_fragment(request: HttpRequest, arc, template: str, **extra) -> HttpResponse:
    """The arc page's pieces an inline update swaps, with what the full page would show."""
    context = _arc_context(arc, member_view=False) if extra.get("saved") else {"arc": arc}
    context.update({"can_change": True, **extra})
    if extra.get("saved"):
        context["measurement_rows"] = _measurement_rows(request, context["arc"], can_change=True)
    return render(request, template, context)


# --- The member's pages --------------------------------------------------------------------


@role_required(Role.MEMBER)
def my_care_arc(request: HttpRequest) -> HttpResponse:
    member = member_for_user(request.user)
    arcs = selectors.arcs_shown_to_member(request.user, member)
    for arc in arcs:
        _log_view(request, arc, "my care arc")
    # Every arc's plan in one set of queries, and the team (the same for each arc) once.
    selectors.arcs_with_plans(arcs, shared_notes_only=True)
    team = list(care_team_of(member))
    return render(
        request,
        "arcs/my_care_arc.html",
        {
            "member": member,
            "arcs": [
                _arc_context(arc, member_view=True, team=team, plan_prefetched=True) for arc in arcs
            ],
            "team": team,
        },
    )


def _care_summary_context(request: HttpRequest, *, action: str, detail: str) -> dict:
    member = member_for_user(request.user)
    services.access_log_record(
        user=request.user,
        member_id=member.pk,
        action=action,
        record_type="care_summary",
        record_id=member.pk,
        detail=detail,
    )
    return {
        "member": member,
        "summaries": selectors.member_care_summary(request.user, member),
        "team": list(care_team_of(member)),
        "today": timezone.localdate(),
    }


@role_required(Role.MEMBER)
def my_care_summary(request: HttpRequest) -> HttpResponse:
    """A readable summary of my care, laid out to print."""
    context = _care_summary_context(request, action=AccessAction.VIEW, detail="care summary")
    response = render(request, "arcs/care_summary.html", context)
    response["Cache-Control"] = "no-store, private"
    return response


@role_required(Role.MEMBER)
def my_care_summary_pdf(request: HttpRequest) -> HttpResponse:
    """The same summary as a PDF.

    Rendered while the member waits rather than by a worker into stored media: a stored
    copy of clinical content would need its own access control and retention, and one
    member's summary is a page or two.
    """
    from clinic.pdf import render_pdf

    context = _care_summary_context(request, action=AccessAction.EXPORT, detail="care summary PDF")
    response = HttpResponse(
        render_pdf("arcs/pdf/care_summary.html", context), content_type="application/pdf"
    )
    filename = f"care-summary-{timezone.localdate().isoformat()}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store, private"
    return response


@role_required(Role.MEMBER)
def my_fhir_export(request: HttpRequest) -> HttpResponse:
    return _fhir_response(request, member_for_user(request.user))


@role_required(Role.HUB_COORDINATOR)
def member_fhir_export(request: HttpRequest, member_pk: int) -> HttpResponse:
    return _fhir_response(
        request,
        get_object_or_404(Member.objects.select_related("user"), pk=member_pk),
        include_drafts=True,
    )


def _fhir_response(
    request: HttpRequest, member: Member, *, include_drafts: bool = False
) -> HttpResponse:
    bundle = member_bundle(member, include_drafts=include_drafts)
    services.access_log_record(
        user=request.user,
        member_id=member.pk,
        action=AccessAction.EXPORT,
        record_type="fhir_bundle",
        record_id=member.pk,
        detail="FHIR R4 bundle",
    )
    response = HttpResponse(
        bundle.model_dump_json(exclude_none=True), content_type="application/fhir+json"
    )
    filename = f"care-record-{member.number or member.pk}-{timezone.localdate().isoformat()}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- The arc page --------------------------------------------------------------------------


@login_required
def arc_detail(request: HttpRequest, pk: int) -> HttpResponse:
    arc = selectors.arc_for_user(request.user, pk)
    _log_view(request, arc)
    if selectors.is_member_view(request.user, arc):
        if arc.status == ArcStatus.DRAFT:
            raise Http404
        return render(request, "arcs/member_arc.html", _arc_context(arc, member_view=True))
    context = _arc_context(arc, member_view=False)
    can_change = selectors.can_change_arc(request.user, arc)
    context.update(
        {
            "can_change": can_change,
            "status_form": StatusForm(arc=arc) if can_change else None,
            "review_form": ReviewForm() if can_change else None,
            "measurement_form": MeasurementForm(initial={"measured_on": timezone.localdate()}),
            "note_form": NoteForm(),
            "measurement_rows": _measurement_rows(request, context["arc"], can_change=can_change),
            "reviews": list(selectors.arc_reviews(arc)[:10]),
            "consultations": arc.consultations.select_related(
                "requested_by__user", "to_discipline", "to_practitioner__user"
            ),
            "status_changes": arc.status_changes.select_related("changed_by"),
            "today": timezone.localdate(),
        }
    )
    return render(request, "arcs/arc_detail.html", context)


@role_required(Role.CLINICIAN, Role.HUB_COORDINATOR)
def arc_create(request: HttpRequest, member_pk: int) -> HttpResponse:
    if has_role(request.user, Role.HUB_COORDINATOR):
        members = Member.objects.select_related("user")
    else:
        members = members_in_care_of(request.user)
    member = get_object_or_404(members.exclude(user=request.user), pk=member_pk)
    form = ArcForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        fields = {k: v for k, v in form.cleaned_data.items() if k != "version"}
        arc = services.arc_create(member=member, by=request.user, **fields)
        messages.success(request, _("Arc created as a draft. Add its goals, then start it."))
        return redirect("arcs:arc_detail", arc.pk)
    return render(
        request, "arcs/form.html", {"form": form, "member": member, "heading": _("New arc of care")}
    )


@role_required(Role.CLINICIAN, Role.HUB_COORDINATOR)
def arc_edit(request: HttpRequest, pk: int) -> HttpResponse:
    arc = selectors.arc_for_user(request.user, pk, for_change=True)
    _log_view(request, arc, "plan form")
    form = ArcForm(
        request.POST or None, instance=arc, plan_version=services.latest_version_number(arc)
    )
    if request.method == "POST" and form.is_valid():
        changes = dict(form.cleaned_data)
        try:
            services.arc_update_plan(
                arc=arc, by=request.user, expected_version=changes.pop("version"), **changes
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("arcs:arc_detail", arc.pk)
    return render(
        request, "arcs/form.html", {"form": form, "arc": arc, "heading": _("Change the arc's plan")}
    )


PLAN_ITEMS = {
    "goal": (Goal, GoalForm, services.goal_save, "goal"),
    "phase": (Phase, PhaseForm, services.phase_save, "phase"),
    "intervention": (Intervention, InterventionForm, services.intervention_save, "intervention"),
}


@role_required(Role.CLINICIAN, Role.HUB_COORDINATOR)
def plan_item_edit(
    request: HttpRequest, pk: int, kind: str, item_pk: int | None = None
) -> HttpResponse:
    """Add or change one goal, phase or intervention of the arc's plan."""
    if kind not in PLAN_ITEMS:
        raise Http404
    model, form_class, save, keyword = PLAN_ITEMS[kind]
    arc = selectors.arc_for_user(request.user, pk, for_change=True)
    _log_view(request, arc, f"{kind} form")
    item = (
        get_object_or_404(model, pk=item_pk, arc=arc, removed_on__isnull=True) if item_pk else None
    )
    form = form_class(
        request.POST or None, instance=item, plan_version=services.latest_version_number(arc)
    )
    if request.method == "POST" and form.is_valid():
        fields = dict(form.cleaned_data)
        expected_version = fields.pop("version")
        # The form wrote its values onto ``item``: the service compares against the row.
        item = model.objects.get(pk=item.pk) if item is not None else None
        try:
            save(
                arc=arc,
                by=request.user,
                expected_version=expected_version,
                **{keyword: item},
                **fields,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("arcs:arc_detail", arc.pk)
    heading = {
        "goal": _("Goal"),
        "phase": _("Phase"),
        "intervention": _("Intervention"),
    }[kind]
    return render(request, "arcs/form.html", {"form": form, "arc": arc, "heading": heading})


def _status_consequences(arc, to_status: str) -> list[str]:
    """What a status change does, and who learns of it: shown before it is confirmed."""
    lines = []
    if to_status == ArcStatus.ACTIVE and arc.status == ArcStatus.DRAFT:
        lines.append(
            _(
                "The arc starts today: the member sees it, with its goals and shared notes, "
                "on their care page, and reviews are scheduled from its cadence."
            )
        )
    elif to_status == ArcStatus.ACTIVE:
        lines.append(_("The arc resumes: the member's care page shows it as active again."))
    elif to_status == ArcStatus.ON_HOLD:
        lines.append(
            _(
                "The arc pauses: the member's care page shows it on hold. Measures and notes "
                "can still be recorded, and its reviews stay due."
            )
        )
    elif to_status == ArcStatus.ACHIEVED:
        lines.append(
            _(
                "The arc ends as achieved: its plan can no longer change and no more measures "
                "are recorded. The member's care page shows it as achieved, and it counts "
                "toward the clinic's endpoint attainment."
            )
        )
    elif to_status == ArcStatus.DISCONTINUED:
        lines.append(
            _(
                "The arc ends as discontinued: its plan can no longer change and no more "
                "measures are recorded. The member's care page shows it as discontinued."
            )
        )
        if arc.activated_on is not None:
            lines.append(
                _("It counts against the clinic's endpoint attainment for the next 12 months.")
            )
    lines.append(
        _(
            "Nobody is emailed: the care team sees the change on the arc page and in the "
            "plan's history, with the reason."
        )
    )
    if to_status in CLOSED_STATUSES:
        lines.append(_("This cannot be undone."))
    return lines


@role_required(Role.CLINICIAN, Role.HUB_COORDINATOR)
def arc_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Change the arc's status in two steps: choose (no status preselected) and give the
    reason, then confirm on a page that says what will happen and who will be told."""
    arc = selectors.arc_for_user(request.user, pk, for_change=True)
    closing_only = request.GET.get("closing") == "1"
    if request.method != "POST":
        _log_view(request, arc, "status form")
        form = StatusForm(arc=arc, closing_only=closing_only)
        return render(
            request,
            "arcs/status_form.html",
            {"form": form, "arc": arc, "closing_only": closing_only},
        )
    form = StatusForm(request.POST, arc=arc, closing_only=closing_only)
    if form.is_valid():
        to_status = form.cleaned_data["to_status"]
        if "confirm" not in request.POST:
            return render(
                request,
                "arcs/status_confirm.html",
                {
                    "arc": arc,
                    "form": form,
                    "to_status": to_status,
                    "to_label": ArcStatus(to_status).label,
                    "reason": form.cleaned_data["reason"].strip(),
                    "consequences": _status_consequences(arc, to_status),
                    "closing_only": closing_only,
                },
            )
        try:
            services.arc_transition(
                arc=arc,
                to_status=to_status,
                reason=form.cleaned_data["reason"],
                by=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("Status changed to %(status)s.") % {"status": ArcStatus(to_status).label},
            )
            return redirect("arcs:arc_detail", arc.pk)
    return render(
        request,
        "arcs/status_form.html",
        {"form": form, "arc": arc, "closing_only": closing_only},
        status=400,
    )


REVIEW_NEXT = {
    ReviewOutcome.CONTINUE: gettext_lazy(
        "The plan continues as it is; the next review is due on %(date)s."
    ),
    ReviewOutcome.CHANGE_PLAN: gettext_lazy(
        "You go on to change the plan; the next review is due on %(date)s."
    ),
    ReviewOutcome.CLOSE: gettext_lazy(
        "You go on to close the arc (achieved or discontinued), which you confirm on its own "
        "page; until then the next review stays due on %(date)s."
    ),
}


@role_required(Role.CLINICIAN, Role.HUB_COORDINATOR)
def arc_review(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a review held today: notes and a decision, confirmed before it is kept.
    "Change the plan" then opens the plan; "close" the status workflow, closing only."""
    arc = selectors.arc_for_user(request.user, pk, for_change=True)
    if request.method != "POST":
        _log_view(request, arc, "review form")
        return render(request, "arcs/review_form.html", {"form": ReviewForm(), "arc": arc})
    form = ReviewForm(request.POST)
    if form.is_valid():
        outcome = form.cleaned_data["outcome"]
        next_review = timezone.localdate() + datetime.timedelta(days=arc.review_every_days)
        if "confirm" not in request.POST:
            return render(
                request,
                "arcs/review_confirm.html",
                {
                    "arc": arc,
                    "form": form,
                    "notes": form.cleaned_data["notes"],
                    "outcome": outcome,
                    "outcome_label": ReviewOutcome(outcome).label,
                    "next_step": REVIEW_NEXT[outcome]
                    % {"date": date_format(next_review, "SHORT_DATE_FORMAT")},
                },
            )
        try:
            services.arc_record_review(arc=arc, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("Review recorded."))
            if outcome == ReviewOutcome.CHANGE_PLAN:
                return redirect("arcs:arc_edit", arc.pk)
            if outcome == ReviewOutcome.CLOSE:
                return redirect(reverse("arcs:arc_status", args=[arc.pk]) + "?closing=1")
            return redirect("arcs:arc_detail", arc.pk)
    return render(request, "arcs/review_form.html", {"form": form, "arc": arc}, status=400)


def _add_errors(form, error: ValidationError) -> None:
    """A service's field errors on their fields (when the form has them), others on top."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


@role_required(Role.CLINICIAN, Role.HUB_COORDINATOR)
def measurement_correct(request: HttpRequest, pk: int, measurement_pk: int) -> HttpResponse:
    """Correct or strike out a value entered in error (its author or the hub coordinator)."""
    arc = selectors.arc_for_user(request.user, pk, for_change=True)
    measurement = get_object_or_404(
        Measurement.objects.with_superseded().select_related("measure", "recorded_by"),
        pk=measurement_pk,
        arc=arc,
    )
    if not services.may_correct_measurement(request.user, measurement):
        raise PermissionDenied
    if measurement.superseded or measurement.struck_out:
        raise Http404  # only the value that stands is corrected
    _log_view(request, arc, "measure correction form")
    form = MeasurementCorrectionForm(request.POST or None, measurement=measurement)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["action"] == MeasurementCorrectionForm.STRIKE_OUT:
                services.measurement_strike_out(
                    arc=arc, measurement=measurement, reason=data["reason"], by=request.user
                )
            else:
                services.measurement_correct(
                    arc=arc,
                    measurement=measurement,
                    value=data["value"],
                    measured_on=data["measured_on"],
                    reason=data["reason"],
                    by=request.user,
                )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(
                request,
                _("Measure struck out.")
                if data["action"] == MeasurementCorrectionForm.STRIKE_OUT
                else _("Measure corrected."),
            )
            return redirect("arcs:arc_detail", arc.pk)
    return render(
        request,
        "arcs/measurement_correct.html",
        {"form": form, "arc": arc, "measurement": measurement},
        status=400 if request.method == "POST" else 200,
    )


@role_required(Role.CLINICIAN, Role.HUB_COORDINATOR)
def measurement_add(request: HttpRequest, pk: int) -> HttpResponse:
    arc = selectors.arc_for_user(request.user, pk, for_change=True)
    _log_view(request, arc, "measure form")
    today = timezone.localdate()
    form = MeasurementForm(request.POST or None, initial={"measured_on": today})
    if request.method == "POST" and form.is_valid():
        try:
            services.measurement_record(arc=arc, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if _is_htmx(request):
                return _clinician_fragment(
                    request,
                    arc,
                    "arcs/_measure_saved.html",
                    saved=True,
                    measurement_form=MeasurementForm(initial={"measured_on": today}),
                )
            messages.success(request, _("Measure recorded."))
            return redirect("arcs:arc_detail", arc.pk)
    if _is_htmx(request):
        return _clinician_fragment(request, arc, "arcs/_measure_saved.html", measurement_form=form)
    return render(
        request, "arcs/form.html", {"form": form, "arc": arc, "heading": _("Record a measure")}
    )


@role_required(Role.CLINICIAN, Role.HUB_COORDINATOR)
def note_add(request: HttpRequest, pk: int) -> HttpResponse:
    arc = selectors.arc_for_user(request.user, pk, for_change=True)
    _log_view(request, arc, "note form")
    form = NoteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.note_add(arc=arc, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if _is_htmx(request):
                return _clinician_fragment(
                    request, arc, "arcs/_note_saved.html", saved=True, note_form=NoteForm()
                )
            messages.success(request, _("Note added."))
            return redirect("arcs:arc_detail", arc.pk)
    if _is_htmx(request):
        return _clinician_fragment(request, arc, "arcs/_note_saved.html", note_form=form)
    return render(
        request, "arcs/form.html", {"form": form, "arc": arc, "heading": _("Write a progress note")}
    )


PLAN_ITEM_REMOVALS = {
    "goal": (Goal, services.goal_remove, "goal"),
    "phase": (Phase, services.phase_remove, "phase"),
    "intervention": (Intervention, services.intervention_remove, "intervention"),
}


@role_required(Role.CLINICIAN, Role.HUB_COORDINATOR)
def plan_item_remove(request: HttpRequest, pk: int, kind: str, item_pk: int) -> HttpResponse:
    """Take a goal, phase or intervention out of the plan (kept, stamped as removed)."""
    if kind not in PLAN_ITEM_REMOVALS:
        raise Http404
    model, remove, keyword = PLAN_ITEM_REMOVALS[kind]
    arc = selectors.arc_for_user(request.user, pk, for_change=True)
    item = get_object_or_404(model, pk=item_pk, arc=arc, removed_on__isnull=True)
    # The reason is optional: an empty POST is still a bound form.
    form = PlanItemRemoveForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            remove(arc=arc, by=request.user, reason=form.cleaned_data["reason"], **{keyword: item})
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Removed from the plan: %(item)s") % {"item": item})
            return redirect("arcs:arc_detail", arc.pk)
    heading = {
        "goal": _("Remove a goal from the plan"),
        "phase": _("Remove a phase from the plan"),
        "intervention": _("End or cancel an intervention"),
    }[kind]
    return render(
        request,
        "arcs/plan_item_remove.html",
        {"form": form, "arc": arc, "item": item, "kind": kind, "heading": heading},
    )


@role_required(Role.CLINICIAN, Role.HUB_COORDINATOR)
def arc_history(request: HttpRequest, pk: int) -> HttpResponse:
    arc = selectors.arc_for_user(request.user, pk)
    if selectors.is_member_view(request.user, arc):
        raise Http404
    versions = list(selectors.arc_versions(arc))
    by_number = {version.number: version for version in versions}
    rows = []
    for version in versions:
        previous = by_number.get(version.number - 1)
        rows.append(
            {
                "version": version,
                "changes": selectors.snapshot_diff(
                    previous.snapshot if previous else {}, version.snapshot
                )
                if previous
                else [],
            }
        )
    compare = None
    try:
        older, newer = int(request.GET.get("from", "")), int(request.GET.get("to", ""))
    except ValueError:
        older = newer = None
    if older in by_number and newer in by_number:
        compare = {
            "from": older,
            "to": newer,
            "changes": selectors.snapshot_diff(
                by_number[older].snapshot, by_number[newer].snapshot
            ),
        }
    _log_view(request, arc, "history")
    return render(
        request,
        "arcs/arc_history.html",
        {
            "arc": arc,
            "rows": rows,
            "compare": compare,
            "numbers": [v.number for v in versions],
            "snapshot_json": json.dumps(versions[0].snapshot, indent=2) if versions else "",
        },
    )


# --- The hub coordinator's lists -----------------------------------------------------------


LIST_TITLES = {
    "draft": gettext_lazy("Draft arcs"),
    "active": gettext_lazy("Active arcs"),
    "on_hold": gettext_lazy("Arcs on hold"),
    "achieved": gettext_lazy("Achieved arcs"),
    "discontinued": gettext_lazy("Discontinued arcs"),
    "open": gettext_lazy("Open arcs"),
    "overdue": gettext_lazy("Arcs with a review overdue"),
    "stalled": gettext_lazy("Stalled arcs"),
    "achieved_12m": gettext_lazy("Arcs achieved in the last 12 months"),
    "discontinued_12m": gettext_lazy("Arcs discontinued in the last 12 months"),
}


def _filters_title(title, data: dict) -> str:
    """A list's title with the dashboard filters applied to it, so the page says what it
    shows ("Stalled arcs: discipline Nutrition, care teams of Ana Lima")."""
    applied = []
    if data.get("discipline"):
        applied.append(_("discipline %(name)s") % {"name": data["discipline"].name})
    if data.get("practitioner"):
        applied.append(
            _("care teams of %(name)s") % {"name": data["practitioner"].user.get_full_name()}
        )
    return f"{title}: {', '.join(applied)}" if applied else str(title)


@role_required(Role.HUB_COORDINATOR)
def arc_list(request: HttpRequest) -> HttpResponse:
    services.access_list_record(
        user=request.user, list_name="arc list", path=request.get_full_path()
    )
    which = request.GET.get("which", "")
    if which and which not in LIST_TITLES:
        raise Http404
    filters = DashboardFilterForm(request.GET or None)
    filters.is_valid()
    data = getattr(filters, "cleaned_data", {})
    arcs = selectors.arcs_for_dashboard(
        which=which or None,
        discipline_id=data.get("discipline").pk if data.get("discipline") else None,
        practitioner_id=data.get("practitioner").pk if data.get("practitioner") else None,
    )
    page = Paginator(arcs, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "arcs/arc_list.html",
        {
            "page": page,
            "title": _filters_title(LIST_TITLES.get(which, _("All arcs")), data),
            "filters": filters,
            "query": query.urlencode(),
            "today": timezone.localdate(),
        },
    )


@role_required(Role.HUB_COORDINATOR)
def members_without_arc(request: HttpRequest) -> HttpResponse:
    services.access_list_record(
        user=request.user, list_name="members without arc", path=request.get_full_path()
    )
    filters = DashboardFilterForm(request.GET or None)
    filters.is_valid()
    data = getattr(filters, "cleaned_data", {})
    members = selectors.active_members_without_active_arc(
        discipline_id=data.get("discipline").pk if data.get("discipline") else None,
        practitioner_id=data.get("practitioner").pk if data.get("practitioner") else None,
    )
    page = Paginator(members, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "arcs/members_without_arc.html",
        {
            "page": page,
            "filters": filters,
            "query": query.urlencode(),
            "title": _filters_title(_("Active members with no active arc"), data),
        },
    )


@role_required(Role.HUB_COORDINATOR)
def access_log(request: HttpRequest) -> HttpResponse:
    """Who saw what: repeated views of one record by one person on one day are one row."""
    form = AccessLogFilterForm(request.GET or None)
    filters: dict = {}
    if form.is_valid():
        data = form.cleaned_data
        if data["member"]:
            member = Member.objects.filter(number=data["member"]).first()
            filters["member_id"] = member.pk if member else -1
        if data["user"]:
            user = get_user_model().objects.filter(email__iexact=data["user"]).first()
            filters["user_id"] = user.pk if user else -1
        filters["date_from"], filters["date_to"] = data["date_from"], data["date_to"]
    page = Paginator(selectors.access_log(**filters), 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "arcs/access_log.html",
        {
            "form": form,
            "page": page,
            "rows": selectors.access_log_rows(page),
            "query": query.urlencode(),
            "filtered": bool(form.is_bound and form.is_valid() and any(form.cleaned_data.values())),
        },
    )


@role_required(Role.HUB_COORDINATOR)
def outcome_measures(request: HttpRequest) -> HttpResponse:
    form = OutcomeMeasureForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.outcome_measure_define(**form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("Outcome measure added."))
            return redirect("arcs:outcome_measures")
    return render(
        request,
        "arcs/outcome_measures.html",
        {"form": form, "measures": OutcomeMeasure.objects.all()},
    )
