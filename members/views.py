"""Pages of the member register: joining, My membership, and the office's register."""

from collections.abc import Callable

from allauth.account.decorators import reauthentication_required
from allauth.core import ratelimit
from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from clinic.access import role_required
from clinic.csvexport import csv_writer
from clinic.files import stored_file_response
from clinic.roles import Role
from members import forms, imports, selectors, services
from members.models import FeePlan, RegisterExport, ShareClass, ShareLedgerEntry

ADMIN = Role.ADMINISTRATOR
PAGE_SIZE = 25
IMPORT_SALT = "members.import"


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


def _errors(error: ValidationError) -> str:
    return " ".join(error.messages)


def _anchor_cover(member):
    """The anchor organization's cover of the member today, if any (billing owns contracts)."""
    from billing.selectors import member_cover_on

    return member_cover_on(member=member, on=timezone.localdate())


# --- Public -------------------------------------------------------------------------------


def join(request: HttpRequest) -> HttpResponse:
    """The public application form: it records an applicant and nothing else."""
    form = forms.JoinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # Per real client and per address, whether or not the address is registered: the
        # form must not become a way to fill someone's mailbox, nor to probe who is a member.
        if not ratelimit.consume(request, action="join") or not ratelimit.consume(
            request, action="join_address", key=data["email"].strip().lower()
        ):
            messages.error(
                request, _("Too many applications were sent from here. Please try again later.")
            )
            return render(request, "members/join.html", {"form": form}, status=429)
        services.member_apply(
            first_name=data["first_name"],
            last_name=data["last_name"],
            email=data["email"],
            date_of_birth=data["date_of_birth"],
            address=data["address"],
            phone=data["phone"],
            preferred_language=data["preferred_language"],
            notice_delivery=data["notice_delivery"],
            payment_method=data["payment_method"],
            requested_fee_plan=data["requested_fee_plan"],
            anchor_organization_name=data["anchor_organization_name"],
        )
        return redirect("members:join_done")
    return render(
        request, "members/join.html", {"form": form}, status=400 if form.is_bound else 200
    )


def join_done(request: HttpRequest) -> HttpResponse:
    return render(request, "members/join_done.html")


def orientation_register(request: HttpRequest, pk: int) -> HttpResponse:
    """Register for an orientation session by name and email: no account needed."""
    session = selectors.orientation_session_open(pk)
    form = forms.OrientationRegistrationForm(request.POST or None)
    context = {"session": session, "form": form}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # As on the join form: per client and per address, so that the confirmation email
        # cannot be used to fill someone's mailbox.
        if not ratelimit.consume(request, action="orientation") or not ratelimit.consume(
            request, action="orientation_address", key=data["email"].strip().lower()
        ):
            messages.error(
                request, _("Too many registrations were sent from here. Please try again later.")
            )
            return render(request, "members/orientation_register.html", context, status=429)
        try:
            services.orientation_register(
                session_id=session.pk,
                name=data["name"],
                email=data["email"],
                language=translation.get_language() or "",
            )
        except ValidationError as error:
            form.add_error(None, error)
            return render(request, "members/orientation_register.html", context, status=409)
        return redirect("orientation_registered")
    return render(
        request,
        "members/orientation_register.html",
        context,
        status=400 if form.is_bound else 200,
    )


def orientation_registered(request: HttpRequest) -> HttpResponse:
    return render(request, "members/orientation_registered.html")


def rules(request: HttpRequest) -> HttpResponse:
    share_classes = ShareClass.objects.order_by("name")
    return render(request, "members/rules.html", {"share_classes": share_classes})


# --- The member's own pages ---------------------------------------------------------------


@role_required(Role.MEMBER)
def my_membership(request: HttpRequest) -> HttpResponse:
    member = selectors.member_for_user(request.user)
    holdings = selectors.holdings_of(member)
    certificates = selectors.current_certificates(member)
    for holding in holdings:
        holding["certificate"] = certificates.get(holding["share_class"].pk)
    return render(
        request,
        "members/my_membership.html",
        {
            "member": member,
            "plan": selectors.current_fee_plan(member),
            "cover": _anchor_cover(member),
            "holdings": holdings,
        },
    )


@role_required(Role.MEMBER)
def my_details(request: HttpRequest) -> HttpResponse:
    member = selectors.member_for_user(request.user)
    form = forms.MemberDetailsForm(
        request.POST or None, initial=forms.MemberDetailsForm.initial_for(member)
    )
    if request.method == "POST" and form.is_valid():
        services.member_update_details(member=member, **form.cleaned_data)
        messages.success(request, _("Your details are saved."))
        return redirect("members:my_membership")
    return render(
        request,
        "members/my_details.html",
        {"form": form, "member": member},
        status=400 if form.is_bound else 200,
    )


@require_POST
@role_required(Role.MEMBER)
def certificate_request(request: HttpRequest, share_class_pk: int) -> HttpResponse:
    member = selectors.member_for_user(request.user)
    share_class = get_object_or_404(ShareClass, pk=share_class_pk)
    try:
        certificate = services.share_certificate_for(member=member, share_class=share_class)
    except ValidationError as error:
        messages.error(request, _errors(error))
        return redirect("members:my_membership")
    certificate.refresh_from_db()
    if certificate.file:
        return redirect("members:certificate_download", pk=certificate.pk)
    messages.info(request, _("Your certificate is being prepared; it appears here shortly."))
    return redirect("members:my_membership")


@role_required(Role.MEMBER)
def certificate_download(request: HttpRequest, pk: int) -> FileResponse:
    member = selectors.member_for_user(request.user)
    certificate = selectors.certificate_for_member(member, pk)
    return stored_file_response(
        request,
        certificate.file,
        filename=f"share-certificate-{certificate.number}.pdf",
        regenerate=lambda: services.share_certificate_file_lost(
            certificate_id=certificate.pk, name=certificate.file.name
        ),
    )


# --- Applications -------------------------------------------------------------------------


@role_required(ADMIN)
def applications(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.applications(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "members/applications.html", {"page": page})


@role_required(ADMIN)
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    member = selectors.application_for_admin(pk)
    return render(
        request,
        "members/application_detail.html",
        {"member": member, "reject_form": forms.RejectForm()},
    )


@require_POST
@role_required(ADMIN)
def application_approve(request: HttpRequest, pk: int) -> HttpResponse:
    member = selectors.application_for_admin(pk)
    member = services.member_approve(member=member, by=request.user, base_url=_base_url(request))
    messages.success(
        request,
        _("%(name)s is admitted as member number %(number)s; the welcome email is on its way.")
        % {"name": member.full_name, "number": member.number},
    )
    return redirect("members:applications")


@require_POST
@role_required(ADMIN)
def application_reject(request: HttpRequest, pk: int) -> HttpResponse:
    member = selectors.application_for_admin(pk)
    form = forms.RejectForm(request.POST)
    if form.is_valid():
        services.member_reject(member=member, by=request.user, reason=form.cleaned_data["reason"])
        messages.success(request, _("The application is rejected; the applicant is told why."))
        return redirect("members:applications")
    return render(
        request,
        "members/application_detail.html",
        {"member": member, "reject_form": form},
        status=400,
    )


# --- The register -------------------------------------------------------------------------


@role_required(ADMIN)
def register(request: HttpRequest) -> HttpResponse:
    form = forms.RegisterFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    sort = request.GET.get("sort", "number")
    members = selectors.register_members(
        search=filters.get("q") or "",
        status=filters.get("status") or "",
        plan=filters.get("plan"),
        needs_orientation=bool(filters.get("orientation")),
        sort=sort,
    )
    page = Paginator(members, PAGE_SIZE).get_page(request.GET.get("page"))
    sorts = [
        ("number", _("Number")),
        ("name", _("Name")),
        ("admitted", _("Admitted")),
        ("shares", _("Shares")),
    ]
    return render(
        request,
        "members/register.html",
        {"form": form, "page": page, "sort": sort, "sorts": sorts},
    )


def _member_page(request: HttpRequest, member, status: int = 200, **bound) -> HttpResponse:
    """The member's register page, with any form that failed shown with its errors."""
    context = {
        "member": member,
        "plans": selectors.fee_plan_history(member),
        "cover": _anchor_cover(member),
        "events": selectors.status_history(member),
        "holdings": selectors.holdings_of(member),
        "entries": selectors.ledger_entries(member=member)[:50],
        "status_form": forms.StatusChangeForm(member=member),
        "plan_form": forms.FeePlanAssignForm(initial={"valid_from": timezone.localdate()}),
        "orientation_form": forms.OrientationForm(initial={"attended_on": timezone.localdate()}),
        "subscribe_form": forms.ShareSubscribeForm(prefix="subscribe"),
        "payment_form": forms.SharePaymentForm(prefix="payment"),
        "transfer_form": forms.ShareTransferForm(prefix="transfer"),
        "redeem_form": forms.ShareRedeemForm(prefix="redeem"),
        "member_emails": selectors.member_emails(member),
        **bound,
    }
    return render(request, "members/member_detail.html", context, status=status)


@role_required(ADMIN)
def member_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _member_page(request, selectors.member_for_admin(pk))


def _member_action(
    request: HttpRequest,
    pk: int,
    *,
    form_name: str,
    build: Callable,
    act: Callable,
    done: str,
) -> HttpResponse:
    """Run one administrator action from the member page; refusals come back as errors."""
    member = selectors.member_for_admin(pk)
    form = build(member)
    if form.is_valid():
        try:
            act(member, form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, done)
            return redirect("members:member_detail", pk=member.pk)
    return _member_page(request, member, status=400, **{form_name: form})


@require_POST
@role_required(ADMIN)
def member_email_resend(request: HttpRequest, pk: int, email_pk: int) -> HttpResponse:
    """Send again one of the member's emails whose delivery failed or is unknown."""
    member = selectors.member_for_admin(pk)
    email = selectors.member_email_for_admin(member, email_pk)
    form = forms.MemberEmailResendForm(request.POST)
    checked = form.is_valid() and form.cleaned_data["checked"]
    try:
        services.member_email_resend(email_id=email.pk, by=request.user, checked=checked)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The email is queued to be sent again."))
    return redirect("members:member_detail", pk=member.pk)


@require_POST
@role_required(ADMIN)
def member_status(request: HttpRequest, pk: int) -> HttpResponse:
    response = _member_action(
        request,
        pk,
        form_name="status_form",
        build=lambda m: forms.StatusChangeForm(request.POST, member=m),
        act=lambda m, d: services.member_change_status(
            member=m, to_status=d["to_status"], by=request.user, reason=d["reason"],
            on=d["effective_on"],
        ),
        done=_("The status change is recorded."),
    )  # fmt: skip
    if response.status_code == 302:
        _warn_invoiced_after_leaving(request, pk)
    return response


def _warn_invoiced_after_leaving(request: HttpRequest, pk: int) -> None:
    """Invoices issued before a late-recorded leaving may bill days after it: name them."""
    from billing.selectors import invoices_billing_member_after

    member = selectors.member_for_admin(pk)
    if member.ceased_on is None:
        return
    numbers = [i.number for i in invoices_billing_member_after(member_id=pk, on=member.ceased_on)]
    if numbers:
        messages.warning(
            request,
            _(
                "Invoices %(numbers)s already bill days after %(date)s; correct them with "
                "credit notes."
            )
            % {"numbers": ", ".join(numbers), "date": member.ceased_on},
        )


@require_POST
@role_required(ADMIN)
def member_plan(request: HttpRequest, pk: int) -> HttpResponse:
    return _member_action(
        request,
        pk,
        form_name="plan_form",
        build=lambda m: forms.FeePlanAssignForm(request.POST),
        act=lambda m, d: services.fee_plan_assign(
            member=m, plan=d["plan"], valid_from=d["valid_from"]
        ),
        done=_("The fee plan is changed."),
    )


@require_POST
@role_required(ADMIN)
def member_orientation(request: HttpRequest, pk: int) -> HttpResponse:
    return _member_action(
        request,
        pk,
        form_name="orientation_form",
        build=lambda m: forms.OrientationForm(request.POST),
        act=lambda m, d: services.member_record_orientation(member=m, attended_on=d["attended_on"]),
        done=_("Orientation attendance is recorded."),
    )


SHARE_ACTIONS = {
    "subscribe": (
        forms.ShareSubscribeForm,
        lambda m, d, by: services.share_subscribe(
            member=m, share_class=d["share_class"], quantity=d["quantity"], by=by,
            on=d["entry_date"],
        ),
        "subscribe_form",
    ),
    "payment": (
        forms.SharePaymentForm,
        lambda m, d, by: services.share_payment(
            member=m, share_class=d["share_class"], amount=d["amount"], by=by,
            on=d["entry_date"], reference=d["reference"],
        ),
        "payment_form",
    ),
    "transfer": (
        forms.ShareTransferForm,
        lambda m, d, by: services.share_transfer(
            from_member=m, to_member=d["to_member"], share_class=d["share_class"],
            quantity=d["quantity"], by=by, on=d["entry_date"],
        ),
        "transfer_form",
    ),
    "redeem": (
        forms.ShareRedeemForm,
        lambda m, d, by: services.share_redeem(
            member=m, share_class=d["share_class"], quantity=d["quantity"], by=by,
            on=d["entry_date"],
        ),
        "redeem_form",
    ),
}  # fmt: skip


@require_POST
@role_required(ADMIN)
def member_shares(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in SHARE_ACTIONS:
        raise Http404
    form_class, act, form_name = SHARE_ACTIONS[action]
    return _member_action(
        request,
        pk,
        form_name=form_name,
        build=lambda m: form_class(request.POST, prefix=action),
        act=lambda m, d: act(m, d, request.user),
        done=_("The share ledger entry is recorded."),
    )


@role_required(ADMIN)
def ledger(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.ledger_entries(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "members/ledger.html",
        {"page": page, "capital": selectors.share_capital(), "form": forms.ReverseEntryForm()},
    )


@require_POST
@role_required(ADMIN)
def ledger_reverse(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(ShareLedgerEntry, pk=pk)
    form = forms.ReverseEntryForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason for the correction."))
        return redirect("members:ledger")
    try:
        services.share_entry_reverse(
            entry=entry, by=request.user, reason=form.cleaned_data["reason"]
        )
    except ValidationError as error:
        messages.error(request, _errors(error))
    else:
        messages.success(request, _("The entry is reversed."))
    return redirect("members:ledger")


# --- Export and import ------------------------------------------------------------------


class _Echo:
    def write(self, value: str) -> str:
        return value


@role_required(ADMIN)
@reauthentication_required
def register_csv(request: HttpRequest) -> StreamingHttpResponse:
    writer = csv_writer(_Echo())
    header = [
        _("Member number"),
        _("Name"),
        _("Address"),
        _("Date admitted"),
        _("Shares held"),
        _("Date ceased"),
        _("Status"),
    ]

    def rows():
        yield writer.writerow(header)
        for member in selectors.register_rows().iterator(chunk_size=500):
            yield writer.writerow(
                [
                    member.number,
                    member.full_name,
                    member.address,
                    member.admitted_on or "",
                    member.shares_held,
                    member.ceased_on or "",
                    member.get_status_display(),
                ]
            )

    filename = f"register-of-members-{timezone.localdate()}.csv"
    return StreamingHttpResponse(
        rows(),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@role_required(ADMIN)
@reauthentication_required(allow_get=True)
def register_exports(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        services.register_export_request(by=request.user)
        messages.info(request, _("The register PDF is being prepared."))
        return redirect("members:register_exports")
    return render(
        request, "members/register_exports.html", {"exports": selectors.register_exports()}
    )


@role_required(ADMIN)
def register_export_download(request: HttpRequest, pk: int) -> FileResponse:
    export = get_object_or_404(RegisterExport.objects.exclude(file=""), pk=pk)
    return stored_file_response(
        request, export.file, filename=f"register-of-members-{export.requested_at:%Y-%m-%d}.pdf"
    )


@role_required(ADMIN)
def register_import(request: HttpRequest) -> HttpResponse:
    """Upload, then a preview of every row; only a file without errors can be confirmed."""
    if request.method == "POST" and "confirm" in request.POST:
        try:
            text = signing.loads(request.POST["confirm"], salt=IMPORT_SALT, max_age=3600)
        except signing.BadSignature:
            messages.error(request, _("The preview expired; upload the file again."))
            return redirect("members:register_import")
        try:
            admitted = services.member_import(
                text=text, by=request.user, base_url=_base_url(request)
            )
        except ValidationError:
            # The register changed since the preview: show what is wrong now.
            preview = imports.parse_member_import(text)
            return render(
                request,
                "members/register_import.html",
                {"form": forms.ImportForm(), "preview": preview, "columns": imports.COLUMNS},
                status=400,
            )
        messages.success(
            request,
            ngettext(
                "%(count)s member is admitted.", "%(count)s members are admitted.", len(admitted)
            )
            % {"count": len(admitted)},
        )
        return redirect("members:register")
    form = forms.ImportForm(request.POST or None, request.FILES or None)
    context = {"form": form, "columns": imports.COLUMNS}
    status = 400 if form.is_bound else 200
    if request.method == "POST" and form.is_valid():
        text = form.cleaned_data["file"]
        preview = imports.parse_member_import(text)
        context["preview"] = preview
        if not preview.errors:
            context["confirm"] = signing.dumps(text, salt=IMPORT_SALT, compress=True)
            status = 200
    return render(request, "members/register_import.html", context, status=status)


# --- Fee plans ----------------------------------------------------------------------------


@role_required(ADMIN)
def fee_plans(request: HttpRequest) -> HttpResponse:
    form = forms.FeePlanForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.fee_plan_save(**form.cleaned_data)
        messages.success(request, _("The fee plan is saved."))
        return redirect("members:fee_plans")
    return render(
        request,
        "members/fee_plans.html",
        {"plans": FeePlan.objects.order_by("period", "amount"), "form": form},
        status=400 if form.is_bound else 200,
    )


@role_required(ADMIN)
def fee_plan_edit(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(FeePlan, pk=pk)
    # Validating the bound form writes the typed values onto ``plan`` in memory; the page
    # title keeps the name the plan really has.
    saved_name = plan.name
    form = forms.FeePlanForm(request.POST or None, instance=plan)
    if request.method == "POST" and form.is_valid():
        try:
            services.fee_plan_save(plan=plan, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The fee plan is saved."))
            return redirect("members:fee_plans")
    return render(
        request,
        "members/fee_plan_edit.html",
        {"plan": plan, "plan_name": saved_name, "form": form},
        status=400 if form.is_bound else 200,
    )


# --- Orientation sessions (administrators) -------------------------------------------------


@role_required(ADMIN)
def orientation_sessions(request: HttpRequest) -> HttpResponse:
    """The sessions, and a form to add one."""
    form = forms.OrientationSessionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            session = services.orientation_session_create(
                **form.cleaned_data, created_by=request.user
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The orientation session is added."))
            return redirect("members:orientation_session_detail", session.pk)
    sessions = Paginator(selectors.orientation_sessions_for_admin(), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "members/orientation_sessions.html",
        {"form": form, "sessions": sessions},
        status=400 if form.is_bound else 200,
    )


@role_required(ADMIN)
def orientation_session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    session = selectors.orientation_session_for_admin(pk)
    registrations = Paginator(selectors.orientation_registrations(session), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "members/orientation_session_detail.html",
        {"session": session, "registrations": registrations},
    )


# --- Share certificates, for the office ------------------------------------------------------


@role_required(ADMIN)
@require_POST
def member_certificate_issue(request: HttpRequest, pk: int, share_class_pk: int) -> HttpResponse:
    """Certify the member's holding of a share class today (the same certificate again if
    it is already certified)."""
    member = selectors.member_for_admin(pk)
    share_class = get_object_or_404(ShareClass, pk=share_class_pk)
    try:
        certificate = services.share_certificate_for(
            member=member, share_class=share_class, by=request.user
        )
    except ValidationError as error:
        messages.error(request, _errors(error))
    else:
        messages.success(
            request,
            _("Certificate %(number)s is in force; its PDF is ready in a moment.")
            % {"number": certificate.number},
        )
    return redirect(f"{reverse('members:member_detail', args=[member.pk])}#certificates-heading")


@role_required(ADMIN)
def member_certificate_reissue(request: HttpRequest, member_pk: int, pk: int) -> HttpResponse:
    """Asks first; then a new version of the certificate, the old one kept as superseded."""
    certificate = selectors.certificate_of_member(member_pk, pk)
    if request.method == "POST":
        new = services.share_certificate_reissue(certificate=certificate, by=request.user)
        messages.success(
            request,
            _("Certificate %(new)s issued; %(old)s is kept, marked superseded.")
            % {"new": new.number, "old": certificate.number},
        )
        return redirect(
            f"{reverse('members:member_detail', args=[member_pk])}#certificates-heading"
        )
    return render(request, "members/certificate_reissue.html", {"certificate": certificate})


@role_required(ADMIN)
def member_certificate_download(request: HttpRequest, member_pk: int, pk: int) -> FileResponse:
    certificate = selectors.certificate_of_member(member_pk, pk)
    return stored_file_response(
        request,
        certificate.file,
        filename=f"share-certificate-{certificate.number}.pdf",
        regenerate=lambda: services.share_certificate_file_lost(
            certificate_id=certificate.pk, name=certificate.file.name
        ),
    )
