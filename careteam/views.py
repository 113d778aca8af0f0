import datetime
from urllib.parse import urlencode

from allauth.core import ratelimit
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from arcs import selectors as arc_selectors
from arcs import services as arc_services
from arcs.models import AccessAction
from careteam import selectors, services
from careteam.forms import (
    AnswerForm,
    AssignForm,
    AssignmentEndForm,
    CaseloadSearchForm,
    ConsultationForm,
    DashboardFilterForm,
    InterestAnswerForm,
    InterestFilterForm,
    InterestForm,
)
from careteam.models import (
    CareTeamAssignment,
    ConsultationStatus,
    Discipline,
    InterestStatus,
    Practitioner,
    TeamRole,
)
from clinic.access import role_required
from clinic.roles import Role, has_role
from members.models import Member

CONSULTATION_AGES = selectors.CONSULTATION_AGES


def _id_param(request: HttpRequest, name: str) -> int | None:
    # A filter id that no row can have (huge, signed, text) is ignored, never a 500.
    return selectors.id_param(request.GET.get(name))


@role_required(Role.CLINICIAN, Role.HUB_COORDINATOR)
def caseload(request: HttpRequest) -> HttpResponse:
    """Members whose care team I am on, with their contact details, and what needs me now."""
    arc_services.access_list_record(
        user=request.user, list_name="caseload", path=request.get_full_path()
    )
    user = request.user
    search = CaseloadSearchForm(request.GET or None)
    query_text = search.cleaned_data["q"].strip() if search.is_valid() else ""
    members = selectors.member_search(selectors.members_in_care_of(user), query_text).order_by(
        "user__last_name", "number", "pk"
    )
    page = Paginator(members, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    open_arcs = arc_selectors.open_arc_counts_by_member([m.pk for m in page])
    rows = [{"member": member, "open_arcs": open_arcs.get(member.pk, 0)} for member in page]
    return render(
        request,
        "careteam/caseload.html",
        {
            "page": page,
            "rows": rows,
            "search": search,
            "query_text": query_text,
            "query": query.urlencode(),
            "reviews_due": list(arc_selectors.reviews_due_for(user)[:10]),
            "interventions_due": list(arc_selectors.interventions_due_for(user)[:50]),
            # Interventions on my members' arcs whose practitioner left the team.
            "interventions_unowned": arc_selectors.interventions_needing_owner_first(
                member_ids=selectors.member_ids_in_care_of(user)
            ),
            "consultations": list(selectors.consultations_addressed_to(user)[:50]),
            "notifications": list(selectors.unread_notifications(user)[:20]),
            "today": timezone.localdate(),
        },
    )


@role_required(Role.CLINICIAN, Role.HUB_COORDINATOR)
def reviews_due(request: HttpRequest) -> HttpResponse:
    """Reviews due this week on the arcs of my caseload: overdue ones first, labelled."""
    arc_services.access_list_record(
        user=request.user, list_name="reviews due", path=request.get_full_path()
    )
    page = Paginator(arc_selectors.reviews_due_for(request.user), 25).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "careteam/reviews_due.html",
        {"page": page, "query": "", "today": timezone.localdate()},
    )


@role_required(Role.HUB_COORDINATOR)
def team_dashboard(request: HttpRequest) -> HttpResponse:
    arc_services.access_list_record(
        user=request.user, list_name="team dashboard", path=request.get_full_path()
    )
    filters = DashboardFilterForm(request.GET or None)
    filters.is_valid()
    data = getattr(filters, "cleaned_data", {})
    discipline = data.get("discipline")
    practitioner = data.get("practitioner")
    today = timezone.localdate()
    figures = selectors.team_dashboard_figures(
        discipline_id=discipline.pk if discipline else None,
        practitioner_id=practitioner.pk if practitioner else None,
        today=today,
        fresh=bool(request.GET.get("refresh")),
    )
    counts = figures["counts"]
    query = request.GET.copy()
    query.pop("refresh", None)
    return render(
        request,
        "careteam/team_dashboard.html",
        {
            "filters": filters,
            "filter_query": query.urlencode(),
            "computed_at": figures["computed_at"],
            "cache_seconds": settings.CLINIC_DASHBOARD_CACHE_SECONDS,
            "counts": counts,
            "statuses": [
                (value, label, counts[value]) for value, label in arc_selectors.ArcStatus.choices
            ],
            "without_arc": figures["without_arc"],
            "caseloads": figures["caseloads"],
            "by_discipline": figures["by_discipline"],
            "attainment_by_discipline": figures["attainment_by_discipline"],
            "practitioner_query": f"practitioner={practitioner.pk}" if practitioner else "",
            "settings_stalled": settings.CLINIC_STALLED_ARC_DAYS,
            "attainment_since": arc_selectors.attainment_since(today),
            "interventions_unowned": arc_selectors.InterventionsNeedingOwner(
                count=figures["unowned_count"],
                first=list(arc_selectors.interventions_listed(figures["unowned_first_ids"])),
            ),
            "consultation_ages": [
                (key, label, figures["consultation_ages"][key])
                for key, label, _low, _high in CONSULTATION_AGES
            ],
            "failed_emails": list(selectors.notification_emails_failed()[:50]),
        },
    )


@role_required(Role.HUB_COORDINATOR)
def care_team_members(request: HttpRequest) -> HttpResponse:
    """Every member with their hub coordinator and team size: where teams are assigned."""
    arc_services.access_list_record(
        user=request.user, list_name="care team members", path=request.get_full_path()
    )
    members = Member.objects.select_related("user").annotate(
        team_size=Count(
            "care_team_assignments",
            filter=Q(care_team_assignments__ended_on__isnull=True),
            distinct=True,
        ),
        has_hub=Count(
            "care_team_assignments",
            filter=Q(
                care_team_assignments__ended_on__isnull=True,
                care_team_assignments__role=TeamRole.HUB_COORDINATOR,
            ),
        ),
    )
    practitioner_id = _id_param(request, "practitioner")
    if practitioner_id:
        members = members.filter(
            pk__in=selectors.current_assignments()
            .filter(practitioner_id=practitioner_id)
            .values("member_id")
        )
    discipline_id = _id_param(request, "discipline")
    if discipline_id:
        members = members.filter(
            pk__in=selectors.current_assignments()
            .filter(practitioner__discipline_id=discipline_id)
            .values("member_id")
        )
    if request.GET.get("without_hub"):
        members = members.filter(has_hub=0)
    page = Paginator(members.order_by("number", "pk"), 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "careteam/care_team_members.html", {"page": page, "query": query.urlencode()}
    )


def _member_for_team_page(request: HttpRequest, member_pk: int) -> Member:
    """The hub coordinator sees every care team; a clinician only the ones they are on."""
    if has_role(request.user, Role.HUB_COORDINATOR):
        members = Member.objects.select_related("user")
    else:
        members = selectors.members_in_care_of(request.user)
    return get_object_or_404(members, pk=member_pk)


@role_required(Role.CLINICIAN, Role.HUB_COORDINATOR)
def care_team(request: HttpRequest, member_pk: int) -> HttpResponse:
    member = _member_for_team_page(request, member_pk)
    can_assign = has_role(request.user, Role.HUB_COORDINATOR)
    form = AssignForm(request.POST or None) if can_assign else None
    if request.method == "POST":
        if not can_assign:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.care_team_assign(
                    member=member,
                    practitioner=form.cleaned_data["practitioner"],
                    role=form.cleaned_data["role"],
                    by=request.user,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Care team updated."))
                return redirect("careteam:care_team", member.pk)
    arcs = arc_selectors.arcs_visible_to(request.user).filter(member=member).order_by("-created_at")
    # The page names the member's arcs and care team: clinical data, so the view is logged.
    arc_services.access_log_record(
        user=request.user,
        member_id=member.pk,
        action=AccessAction.VIEW,
        record_type="care_team",
        record_id=member.pk,
    )
    return render(
        request,
        "careteam/care_team.html",
        {
            "member": member,
            "team": selectors.care_team_of(member),
            "history": selectors.care_team_history(member),
            "form": form,
            "arcs": arcs,
            "can_assign": can_assign,
        },
        status=400 if request.method == "POST" else 200,
    )


@role_required(Role.HUB_COORDINATOR)
def care_team_end(request: HttpRequest, pk: int) -> HttpResponse:
    """End a practitioner's place on a care team: a page says what will happen and who
    will be told, and takes the reason (kept on the team's history); posting it ends it."""
    assignment = get_object_or_404(
        CareTeamAssignment.objects.select_related(
            "member__user", "practitioner__user", "practitioner__discipline"
        ),
        pk=pk,
        ended_on__isnull=True,
    )
    # The reason is optional: an empty POST is still a bound form.
    form = AssignmentEndForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.care_team_end(
                assignment=assignment, by=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                _("%(name)s is no longer on the care team of %(member)s.")
                % {
                    "name": assignment.practitioner.user.get_full_name(),
                    "member": assignment.member.full_name,
                },
            )
        return redirect("careteam:care_team", assignment.member_id)
    arc_services.access_log_record(
        user=request.user,
        member_id=assignment.member_id,
        action=AccessAction.VIEW,
        record_type="care_team",
        record_id=assignment.member_id,
        detail="end assignment form",
    )
    return render(
        request,
        "careteam/care_team_end.html",
        {
            "assignment": assignment,
            "form": form,
            "interventions": list(
                arc_selectors.interventions_held_by(
                    practitioner_id=assignment.practitioner_id, member_id=assignment.member_id
                )
            ),
            "emails_cancelled": selectors.emails_cancelled_on_leaving(assignment),
        },
        status=400 if request.method == "POST" else 200,
    )


# --- Consultations -------------------------------------------------------------------------


@role_required(Role.CLINICIAN, Role.HUB_COORDINATOR)
def consultation_new(request: HttpRequest, arc_pk: int) -> HttpResponse:
    arc = arc_selectors.arc_for_user(request.user, arc_pk, for_change=True)
    practitioner = selectors.practitioner_for_user(request.user)
    if practitioner is None:
        raise Http404
    arc_services.access_log_record(
        user=request.user,
        member_id=arc.member_id,
        action=AccessAction.VIEW,
        record_type="arc",
        record_id=arc.pk,
        detail="consultation form",
    )
    form = ConsultationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            consultation = services.consultation_request(
                arc=arc,
                requested_by=practitioner,
                to_discipline=form.cleaned_data["to_discipline"],
                to_practitioner=form.cleaned_data["to_practitioner"],
                question=form.cleaned_data["question"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Consultation requested; the addressee is notified."))
            return redirect("careteam:consultation_detail", consultation.pk)
    return render(request, "careteam/consultation_new.html", {"form": form, "arc": arc})


@role_required(Role.CLINICIAN, Role.HUB_COORDINATOR)
def consultation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    consultation = get_object_or_404(selectors.consultations_visible_to(request.user), pk=pk)
    practitioner = selectors.practitioner_for_user(request.user)
    can_answer = (
        practitioner is not None
        and selectors.consultations_answerable_by(request.user).filter(pk=pk).exists()
    )
    form = AnswerForm(request.POST or None) if can_answer else None
    if request.method == "POST":
        if not can_answer:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.consultation_answer(
                    consultation=consultation,
                    answered_by=practitioner,
                    answer=form.cleaned_data["answer"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Answer sent."))
                return redirect("careteam:consultation_detail", consultation.pk)
    services.notifications_mark_read(user=request.user, consultation=consultation)
    arc_services.access_log_record(
        user=request.user,
        member_id=consultation.arc.member_id,
        action=AccessAction.VIEW,
        record_type="consultation",
        record_id=consultation.pk,
    )
    can_close = consultation.status != ConsultationStatus.CLOSED and (
        consultation.requested_by.user_id == request.user.pk
        or has_role(request.user, Role.HUB_COORDINATOR)
    )
    return render(
        request,
        "careteam/consultation_detail.html",
        {"consultation": consultation, "form": form, "can_close": can_close},
    )


@require_POST
@role_required(Role.CLINICIAN, Role.HUB_COORDINATOR)
def consultation_close(request: HttpRequest, pk: int) -> HttpResponse:
    consultation = get_object_or_404(selectors.consultations_visible_to(request.user), pk=pk)
    if not (
        consultation.requested_by.user_id == request.user.pk
        or has_role(request.user, Role.HUB_COORDINATOR)
    ):
        raise PermissionDenied
    try:
        services.consultation_close(consultation=consultation, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Consultation closed."))
    return redirect("careteam:consultation_detail", consultation.pk)


WHOSE_CONSULTATIONS = {
    "mine": gettext_lazy("All my consultations"),
    "asked_of_me": gettext_lazy("Consultations asked of me"),
    "asked_by_me": gettext_lazy("Consultations I asked"),
}


@role_required(Role.CLINICIAN, Role.HUB_COORDINATOR)
def consultation_list(request: HttpRequest) -> HttpResponse:
    """Consultations, newest first, each saying whom it is about, what is asked, by whom
    and how long ago; the title says which filters are applied."""
    arc_services.access_list_record(
        user=request.user, list_name="consultation list", path=request.get_full_path()
    )
    user = request.user
    consultations = selectors.consultations_visible_to(user).order_by("-created_at", "-pk")
    applied = []
    whose = request.GET.get("whose", "")
    # ``mine=1`` is the older spelling of "asked of me", kept for bookmarked links.
    if request.GET.get("mine") and not whose:
        whose = "asked_of_me"
    asked_of_me = selectors.consultations_addressed_to(user, open_only=False).values("pk")
    if whose == "mine":
        consultations = consultations.filter(Q(pk__in=asked_of_me) | Q(requested_by__user=user))
    elif whose == "asked_of_me":
        consultations = consultations.filter(pk__in=asked_of_me)
    elif whose == "asked_by_me":
        consultations = consultations.filter(requested_by__user=user)
    status = request.GET.get("status", "")
    if status in ConsultationStatus.values:
        consultations = consultations.filter(status=status)
        applied.append(ConsultationStatus(status).label.lower())
    age = request.GET.get("age", "")
    for key, label, low, high in CONSULTATION_AGES:
        if age == key:
            now = timezone.now()
            consultations = consultations.filter(created_at__lte=now - datetime.timedelta(days=low))
            if high:
                consultations = consultations.filter(
                    created_at__gt=now - datetime.timedelta(days=high)
                )
            applied.append(str(label).lower())
    discipline_id = _id_param(request, "discipline")
    practitioner_id = _id_param(request, "practitioner")
    consultations = selectors.consultations_filtered(
        consultations, discipline_id=discipline_id, practitioner_id=practitioner_id
    )
    if discipline_id:
        name = Discipline.objects.filter(pk=discipline_id).values_list("name", flat=True).first()
        applied.append(_("to %(discipline)s") % {"discipline": name or "?"})
    if practitioner_id:
        practitioner = (
            Practitioner.objects.select_related("user").filter(pk=practitioner_id).first()
        )
        applied.append(
            _("asked by or of %(name)s")
            % {"name": practitioner.user.get_full_name() if practitioner else "?"}
        )
    title = WHOSE_CONSULTATIONS.get(whose, _("Consultations"))
    if applied:
        title = f"{title}: {', '.join(applied)}"
    page = Paginator(consultations, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "careteam/consultation_list.html",
        {
            "page": page,
            "query": query.urlencode(),
            "title": title,
            "whose": whose,
            "status": status,
            "user_id": user.pk,
        },
    )


@require_POST
@role_required(Role.HUB_COORDINATOR)
def notification_email_resend(request: HttpRequest, pk: int) -> HttpResponse:
    if services.notification_email_requeue(notification_id=pk):
        messages.success(request, _("The notification email will be sent again."))
    else:
        messages.info(request, _("That email was sent or is already on its way: not resent."))
    return redirect("careteam:team_dashboard")


@require_POST
@role_required(Role.CLINICIAN, Role.HUB_COORDINATOR)
def notifications_read(request: HttpRequest) -> HttpResponse:
    services.notifications_mark_read(user=request.user)
    return redirect("careteam:caseload")


# --- Practise here: the public page and the expressions of interest ------------------------


def practise_here(request: HttpRequest) -> HttpResponse:
    """For practitioners: the disciplines, the arc-of-care and hub model, and a form to say
    they would like to work here."""
    form = InterestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if form.is_spam:
            # The robot is thanked like a person, so it learns nothing; nothing is stored.
            return redirect("practise_thanks")
        data = form.cleaned_data
        if not ratelimit.consume(request, action="interest") or not ratelimit.consume(
            request, action="interest_address", key=data["email"].strip().lower()
        ):
            messages.error(
                request, _("Too many messages were sent from here. Please try again later.")
            )
            status = 429
        else:
            services.interest_submit(
                name=data["name"],
                email=data["email"],
                discipline=data["discipline"],
                message=data["message"],
                language=translation.get_language() or "",
            )
            return redirect("practise_thanks")
    else:
        status = 400 if form.is_bound else 200
    return render(
        request,
        "careteam/practise_here.html",
        {"form": form, "disciplines": list(selectors.disciplines())},
        status=status,
    )


def practise_thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "careteam/practise_thanks.html")


INTEREST_READERS = (Role.HUB_COORDINATOR, Role.ADMINISTRATOR)


@role_required(*INTEREST_READERS)
def interest_list(request: HttpRequest) -> HttpResponse:
    filters = InterestFilterForm(request.GET or None)
    status = filters.cleaned_data["status"] if filters.is_valid() else ""
    page = Paginator(selectors.interests(status=status), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "careteam/interest_list.html",
        {
            "page": page,
            "filters": filters,
            "status_label": _status_label(status),
            "query": urlencode({"status": status}) if status else "",
        },
    )


def _status_label(status: str) -> str:
    return str(InterestStatus(status).label) if status else ""


@role_required(*INTEREST_READERS)
def interest_detail(request: HttpRequest, pk: int) -> HttpResponse:
    expression = selectors.interest_detail(pk)
    form = InterestAnswerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.interest_answer(
                expression_id=expression.pk,
                text=form.cleaned_data["text"],
                answered_by=request.user,
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Your answer is saved and is being emailed."))
        return redirect("careteam:interest_detail", expression.pk)
    return render(
        request,
        "careteam/interest_detail.html",
        {"expression": expression, "form": form},
        status=400 if form.is_bound else 200,
    )


@require_POST
@role_required(*INTEREST_READERS)
def interest_close(request: HttpRequest, pk: int) -> HttpResponse:
    expression = selectors.interest_detail(pk)
    try:
        services.interest_close(expression_id=expression.pk, closed_by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The expression of interest is closed."))
    return redirect("careteam:interest_detail", expression.pk)
