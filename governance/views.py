from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from clinic.access import role_required
from clinic.files import stored_file_response
from clinic.params import id_param
from clinic.roles import Role
from governance import charts, forms, selectors, services
from governance.models import (
    BallotKind,
    BallotStatus,
    Meeting,
    MeetingDocument,
    PostalNoticeBatch,
)
from members.selectors import member_for_user

PAGE_SIZE = 25


def _errors(error: ValidationError) -> str:
    return " ".join(error.messages)


def _apply_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


# --- Members ----------------------------------------------------------------------------


@role_required(Role.MEMBER)
def index(request: HttpRequest) -> HttpResponse:
    member = member_for_user(request.user)
    return render(
        request,
        "governance/index.html",
        {
            "member": member,
            "open_ballots": selectors.ballots_for_member(member, status=BallotStatus.OPEN),
            "closed_ballots": selectors.ballots_for_member(member, status=BallotStatus.CLOSED)[:10],
            "upcoming": selectors.upcoming_general_meetings(),
            "past": selectors.past_general_meetings()[:10],
            "board": selectors.current_board(),
        },
    )


@role_required(Role.MEMBER, Role.ADMINISTRATOR)
def meeting_detail(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = selectors.meeting_for_user(request.user, pk)
    return render(request, "governance/meeting_detail.html", {"meeting": meeting})


@role_required(Role.MEMBER, Role.ADMINISTRATOR)
def document_download(request: HttpRequest, pk: int, document_pk: int) -> FileResponse:
    document = get_object_or_404(
        MeetingDocument, pk=document_pk, meeting__in=selectors.meetings_for_user(request.user)
    )
    if document.meeting_id != pk:
        raise Http404
    return stored_file_response(
        request, document.file, filename=f"{document.title}.pdf", as_attachment=False
    )


@role_required(Role.MEMBER)
def ballot_detail(request: HttpRequest, pk: int) -> HttpResponse:
    ballot = selectors.ballot_for_user(request.user, pk)
    member = member_for_user(request.user)
    standing = selectors.voter_standing(ballot, member)
    search = forms.ProxySearchForm(request.GET if "q" in request.GET else None)
    candidates = None
    if standing.eligible and ballot.allow_proxies and search.is_valid():
        candidates = selectors.proxy_candidates(
            ballot, member=member, query=search.cleaned_data["q"]
        )
    return render(
        request,
        "governance/ballot_detail.html",
        {
            "ballot": ballot,
            "member": member,
            "standing": standing,
            "proxy_search": search,
            "proxy_candidates": candidates,
        },
    )


@role_required(Role.MEMBER)
@never_cache
def ballot_vote(request: HttpRequest, pk: int) -> HttpResponse:
    """The ballot paper, a confirmation step, then the receipt (shown once, never stored)."""
    ballot = selectors.ballot_for_user(request.user, pk)
    member = member_for_user(request.user)
    voter = member
    if "for" in request.GET:
        voter = selectors.proxy_grantor_or_404(ballot, proxy=member, number=request.GET["for"])
    if ballot.status != BallotStatus.OPEN:
        messages.error(request, _("This ballot is not open for voting."))
        return redirect("governance:ballot_detail", pk=ballot.pk)
    form = forms.VoteForm(request.POST or None, ballot=ballot)
    context = {"ballot": ballot, "voter": voter, "member": member, "form": form}
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data["choice"]
        if "confirm" not in request.POST:
            context["chosen"] = [o for o in ballot.options.all() if o.pk in chosen]
            return render(request, "governance/ballot_confirm.html", context)
        try:
            receipt = services.vote_cast(
                ballot=ballot, voter=voter, cast_by=member, option_ids=chosen
            )
        except ValidationError as error:
            messages.error(request, _errors(error))
            return redirect("governance:ballot_detail", pk=ballot.pk)
        return render(request, "governance/ballot_receipt.html", {**context, "receipt": receipt})
    return render(request, "governance/ballot_vote.html", context)


@role_required(Role.MEMBER)
@require_POST
def proxy_appoint(request: HttpRequest, pk: int) -> HttpResponse:
    ballot = selectors.ballot_for_user(request.user, pk)
    member = member_for_user(request.user)
    form = forms.ProxyForm(request.POST)
    if form.is_valid():
        try:
            proxy = selectors.eligible_member_or_404(ballot, pk=form.cleaned_data["proxy"])
        except Http404:
            messages.error(request, _("Choose your proxy among the eligible voters found."))
            return redirect("governance:ballot_detail", pk=ballot.pk)
        try:
            services.proxy_appoint(ballot=ballot, grantor=member, proxy=proxy)
        except ValidationError as error:
            messages.error(request, _errors(error))
        else:
            messages.success(request, _("%(name)s is now your proxy.") % {"name": proxy.full_name})
    else:
        messages.error(request, _("Search for your proxy by name, then choose them."))
    return redirect("governance:ballot_detail", pk=ballot.pk)


@role_required(Role.MEMBER)
@require_POST
def proxy_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    ballot = selectors.ballot_for_user(request.user, pk)
    try:
        services.proxy_revoke(ballot=ballot, grantor=member_for_user(request.user))
    except ValidationError as error:
        messages.error(request, _errors(error))
    else:
        messages.success(request, _("Your proxy has been revoked."))
    return redirect("governance:ballot_detail", pk=ballot.pk)


@role_required(Role.MEMBER, Role.ADMINISTRATOR)
def ballot_results(request: HttpRequest, pk: int) -> HttpResponse:
    ballot = selectors.closed_ballot_for_user(request.user, pk)
    search = forms.ReceiptSearchForm(request.GET or None)
    found = None
    if search.is_valid():
        found = selectors.receipt_counted(ballot, search.cleaned_data["receipt"])
    page = Paginator(selectors.receipts(ballot), PAGE_SIZE).get_page(request.GET.get("page"))
    tally = selectors.ballot_tally(ballot)
    return render(
        request,
        "governance/ballot_results.html",
        {
            "ballot": ballot,
            "tally": tally,
            "chart": charts.tally_chart(tally),
            "page": page,
            "search": search,
            "found": found,
        },
    )


@role_required(Role.MEMBER, Role.ADMINISTRATOR)
def ballot_results_pdf(request: HttpRequest, pk: int) -> FileResponse:
    ballot = selectors.closed_ballot_for_user(request.user, pk)
    return stored_file_response(
        request,
        ballot.results_pdf,
        filename=f"ballot-results-{ballot.pk}.pdf",
        as_attachment=False,
    )


# --- Administrators ---------------------------------------------------------------------


@role_required(Role.ADMINISTRATOR)
def manage(request: HttpRequest) -> HttpResponse:
    meetings = Paginator(selectors.admin_meetings(), PAGE_SIZE).get_page(request.GET.get("page"))
    ballots = Paginator(selectors.admin_ballots(), PAGE_SIZE).get_page(request.GET.get("bpage"))
    return render(request, "governance/manage.html", {"meetings": meetings, "ballots": ballots})


@role_required(Role.ADMINISTRATOR)
def meeting_create(request: HttpRequest) -> HttpResponse:
    form = forms.MeetingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            meeting = services.meeting_schedule(**form.cleaned_data)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("Meeting scheduled."))
            return redirect("governance:meeting_manage", pk=meeting.pk)
    return render(request, "governance/form.html", {"form": form, "title": _("Schedule a meeting")})


def _admin_meeting(pk: int) -> Meeting:
    return get_object_or_404(Meeting, pk=pk)


@role_required(Role.ADMINISTRATOR)
def meeting_manage(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = selectors.meeting_for_user(request.user, pk)
    return render(
        request,
        "governance/meeting_manage.html",
        {
            "meeting": meeting,
            "agenda_form": forms.AgendaItemForm(),
            "document_form": forms.DocumentForm(),
            "progress": selectors.notice_progress(meeting),
        },
    )


@role_required(Role.ADMINISTRATOR)
def meeting_edit(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = _admin_meeting(pk)
    initial = {
        "title": meeting.title,
        "starts_at": meeting.starts_at,
        "ends_at": meeting.ends_at,
        "place": meeting.place,
        "online_link": meeting.online_link,
        "minutes": meeting.minutes,
    }
    form = forms.MeetingEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.meeting_update(meeting=meeting, **form.cleaned_data)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("Meeting saved."))
            return redirect("governance:meeting_manage", pk=meeting.pk)
    return render(request, "governance/form.html", {"form": form, "title": meeting.title})


@role_required(Role.ADMINISTRATOR)
@require_POST
def agenda_add(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = _admin_meeting(pk)
    form = forms.AgendaItemForm(request.POST)
    if form.is_valid():
        services.agenda_item_add(meeting=meeting, **form.cleaned_data)
        messages.success(request, _("Agenda item added."))
    else:
        messages.error(request, _("An agenda item needs a title."))
    return redirect("governance:meeting_manage", pk=meeting.pk)


@role_required(Role.ADMINISTRATOR)
def document_upload(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = _admin_meeting(pk)
    form = forms.DocumentForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.meeting_document_add(
                meeting=meeting, title=form.cleaned_data["title"], upload=form.cleaned_data["file"]
            )
        except ValidationError as error:
            form.add_error("file", error)
        else:
            messages.success(request, _("Document attached."))
            return redirect("governance:meeting_manage", pk=meeting.pk)
    return render(
        request, "governance/form.html", {"form": form, "title": _("Attach a PDF document")}
    )


@role_required(Role.ADMINISTRATOR)
@require_POST
def notice_send(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = _admin_meeting(pk)
    try:
        created = services.meeting_send_notice(meeting=meeting)
    except ValidationError as error:
        messages.error(request, _errors(error))
        return redirect("governance:meeting_manage", pk=meeting.pk)
    messages.success(
        request,
        ngettext(
            "Notice queued for %(count)d new recipient.",
            "Notice queued for %(count)d new recipients.",
            created,
        )
        % {"count": created},
    )
    return redirect("governance:notice_progress", pk=meeting.pk)


@role_required(Role.ADMINISTRATOR)
@require_POST
def notice_requeue(request: HttpRequest, pk: int, delivery_pk: int) -> HttpResponse:
    meeting = _admin_meeting(pk)
    if services.notice_requeue(meeting=meeting, delivery_id=delivery_pk):
        messages.success(request, _("The notice will be sent again."))
    else:
        messages.error(
            request, _("Only a failed notice, or one whose outcome is unknown, can be sent again.")
        )
    return redirect("governance:notice_progress", pk=meeting.pk)


@role_required(Role.ADMINISTRATOR)
@never_cache
def notice_progress(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = _admin_meeting(pk)
    progress = selectors.notice_progress(meeting)
    if request.headers.get("HX-Request"):
        return render(
            request,
            "governance/_notice_progress.html",
            {"meeting": meeting, "progress": progress},
        )
    failed = Paginator(selectors.failed_deliveries(meeting), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "governance/notice_progress.html",
        {
            "meeting": meeting,
            "progress": progress,
            "failed": failed,
            "postal_batches": selectors.postal_batches(meeting),
            "deadline": selectors.notice_deadline(meeting),
            "not_in_time": Paginator(selectors.notices_not_in_time(meeting), PAGE_SIZE).get_page(
                request.GET.get("late")
            ),
        },
    )


@role_required(Role.ADMINISTRATOR)
def postal_notices_pdf(request: HttpRequest, pk: int, batch_pk: int) -> FileResponse:
    batch = get_object_or_404(PostalNoticeBatch, pk=batch_pk, meeting_id=pk)
    return stored_file_response(
        request, batch.pdf, filename=f"postal-notices-{pk}-{batch.pk}.pdf", as_attachment=False
    )


@role_required(Role.ADMINISTRATOR)
def ballot_create(request: HttpRequest) -> HttpResponse:
    meeting = None
    # Only a plain id: "²" passes isdigit() but not int(), and is no meeting at all.
    meeting_id = id_param(request.GET.get("meeting"))
    if meeting_id is not None:
        meeting = _admin_meeting(meeting_id)
    form = forms.BallotForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ballot = services.ballot_create(
                meeting=meeting,
                title=data["title"],
                description=data["description"],
                kind=data["kind"],
                majority_rule=data["majority_rule"],
                seats=data["seats"],
                record_date=data["record_date"],
                opens_at=data["opens_at"],
                closes_at=data["closes_at"],
                quorum=data["quorum"],
                allow_proxies=data["allow_proxies"],
                candidates=data["candidates"] if data["kind"] == BallotKind.ELECTION else (),
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("Ballot created."))
            return redirect("governance:ballot_manage", pk=ballot.pk)
    title = _("New ballot")
    if meeting:
        title = _("New ballot for %(meeting)s") % {"meeting": meeting.title}
    return render(request, "governance/form.html", {"form": form, "title": title})


@role_required(Role.ADMINISTRATOR)
@never_cache
def ballot_manage(request: HttpRequest, pk: int) -> HttpResponse:
    ballot = selectors.ballot_for_user(request.user, pk)
    turnout = selectors.ballot_turnout(ballot)
    if request.headers.get("HX-Request"):
        return render(request, "governance/_turnout.html", {"ballot": ballot, "turnout": turnout})
    return render(
        request,
        "governance/ballot_manage.html",
        {
            "ballot": ballot,
            "turnout": turnout,
            "participation_count": turnout.voted,
            "options": ballot.options.all(),
            "apply_form": forms.ApplyElectionForm(),
        },
    )


@role_required(Role.ADMINISTRATOR)
def ballot_edit(request: HttpRequest, pk: int) -> HttpResponse:
    ballot = selectors.ballot_for_user(request.user, pk)
    if ballot.status != BallotStatus.DRAFT:
        messages.error(request, _("Only a draft ballot can be edited; this one has opened."))
        return redirect("governance:ballot_manage", pk=ballot.pk)
    form = forms.BallotForm(request.POST or None, ballot=ballot)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.ballot_update(
                ballot=ballot,
                title=data["title"],
                description=data["description"],
                majority_rule=data["majority_rule"],
                seats=data["seats"],
                record_date=data["record_date"],
                opens_at=data["opens_at"],
                closes_at=data["closes_at"],
                quorum=data["quorum"],
                allow_proxies=data["allow_proxies"],
                candidates=data["candidates"] if ballot.kind == BallotKind.ELECTION else (),
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("Ballot saved."))
            return redirect("governance:ballot_manage", pk=ballot.pk)
    return render(request, "governance/form.html", {"form": form, "title": ballot.title})


def _confirmed_action(request, ballot, *, action: str, template: str, run, done: str):
    """GET asks for confirmation and says what will happen; POST does it."""
    if request.method != "POST":
        return render(
            request,
            template,
            {"ballot": ballot, "turnout": selectors.ballot_turnout(ballot), "action": action},
        )
    try:
        run(ballot=ballot)
    except ValidationError as error:
        messages.error(request, _errors(error))
    else:
        messages.success(request, done)
    return redirect("governance:ballot_manage", pk=ballot.pk)


@role_required(Role.ADMINISTRATOR)
@require_POST
def ballot_open(request: HttpRequest, pk: int) -> HttpResponse:
    ballot = selectors.ballot_for_user(request.user, pk)
    try:
        ballot = services.ballot_open(ballot=ballot)
    except ValidationError as error:
        messages.error(request, _errors(error))
    else:
        messages.success(
            request,
            ngettext(
                "Ballot open: %(count)d eligible voter.",
                "Ballot open: %(count)d eligible voters.",
                ballot.eligible_count,
            )
            % {"count": ballot.eligible_count},
        )
    return redirect("governance:ballot_manage", pk=ballot.pk)


@role_required(Role.ADMINISTRATOR)
@reauthentication_required(allow_get=True)
def ballot_close(request: HttpRequest, pk: int) -> HttpResponse:
    """Closing counts the votes and publishes the results to members: asked for first."""
    return _confirmed_action(
        request,
        selectors.ballot_for_user(request.user, pk),
        action="close",
        template="governance/ballot_confirm_action.html",
        run=services.ballot_close,
        done=_("Ballot closed: the results are published."),
    )


@role_required(Role.ADMINISTRATOR)
def ballot_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _confirmed_action(
        request,
        selectors.ballot_for_user(request.user, pk),
        action="cancel",
        template="governance/ballot_confirm_action.html",
        run=services.ballot_cancel,
        done=_("Ballot cancelled: no result, and the choices cast were destroyed uncounted."),
    )


@role_required(Role.ADMINISTRATOR)
@require_POST
def board_apply(request: HttpRequest, pk: int) -> HttpResponse:
    ballot = selectors.ballot_for_user(request.user, pk)
    form = forms.ApplyElectionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the role and the dates of the new terms."))
        return redirect("governance:ballot_manage", pk=ballot.pk)
    try:
        terms = services.board_apply_election(ballot=ballot, **form.cleaned_data)
    except ValidationError as error:
        messages.error(request, _errors(error))
        return redirect("governance:ballot_manage", pk=ballot.pk)
    messages.success(
        request,
        ngettext("%(count)d board term created.", "%(count)d board terms created.", len(terms))
        % {"count": len(terms)},
    )
    return redirect(reverse("governance:board"))


@role_required(Role.ADMINISTRATOR)
def board(request: HttpRequest) -> HttpResponse:
    form = forms.BoardTermForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.board_term_add(**form.cleaned_data)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("Board term added."))
            return redirect("governance:board")
    terms = Paginator(selectors.board_terms(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "governance/board.html", {"form": form, "terms": terms})
