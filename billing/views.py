import csv
import datetime

from allauth.account.decorators import reauthentication_required
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from billing import charts, forms, rules, selectors, services
from billing.models import (
    AnchorOrganization,
    ContractStatus,
    CoverEnrolment,
    DirectCareContract,
    InvoiceEmail,
    InvoiceStatus,
    PreviewStatus,
)
from clinic.access import role_required
from clinic.files import stored_file_response
from clinic.money import format_money, quantize_money
from clinic.params import id_param
from clinic.roles import Role
from clinic.uploads import sign_preview

PAGE_SIZE = 25
# An invoice's lines shown a page at a time (an anchor's invoice has one per covered person).
LINES_PAGE_SIZE = 100


def _page(request: HttpRequest, items):
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


# --- Anchor contacts ------------------------------------------------------------------------


@role_required(Role.ANCHOR_CONTACT)
def contract(request: HttpRequest) -> HttpResponse:
    """The anchor contact's home: their organization's contracts and invoices."""
    contracts = selectors.anchor_contracts_for_user(request.user).order_by("-start_date")
    invoices = _page(request, selectors.anchor_invoices_for_user(request.user))
    return render(request, "billing/contract.html", {"contracts": contracts, "invoices": invoices})


@role_required(Role.ANCHOR_CONTACT)
def anchor_contract(request: HttpRequest, pk: int) -> HttpResponse:
    """One contract for its anchor contact: what is owed and how to pay, the covered
    headcount per month (chart and table), and the invoices."""
    contract = selectors.anchor_contract_for_user(request.user, pk)
    today = timezone.localdate()
    headcount = selectors.headcount_by_month(contract, until=today)
    invoices = _page(
        request, selectors.with_amounts(contract.invoices.all()).order_by("-period", "-number")
    )
    return render(
        request,
        "billing/anchor_contract.html",
        {
            "contract": contract,
            "headcount": headcount,
            "chart": charts.headcount_chart(headcount, chart_id=f"headcount-{contract.pk}"),
            "outstanding": selectors.contract_outstanding(contract, today=today),
            "payment_instructions": settings.CLINIC_PAYMENT_INSTRUCTIONS,
            "invoices": invoices,
        },
    )


@role_required(Role.ANCHOR_CONTACT)
def anchor_roster(request: HttpRequest, pk: int) -> HttpResponse:
    """The people the contract covers: names and cover dates, nothing clinical."""
    contract = selectors.anchor_contract_for_user(request.user, pk)
    roster = _page(request, selectors.contract_roster(contract))
    return render(request, "billing/anchor_roster.html", {"contract": contract, "roster": roster})


# --- Documents, for everyone allowed ---------------------------------------------------------


@login_required
def invoice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = selectors.invoice_for_user(request.user, pk)
    return stored_file_response(
        request,
        invoice.pdf,
        filename=f"invoice-{invoice.number}.pdf",
        not_ready=_("The PDF of this invoice is still being prepared."),
        regenerate=lambda: services.invoice_pdf_lost(invoice_id=invoice.pk, name=invoice.pdf.name),
    )


@login_required
def credit_note_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    note = selectors.credit_note_for_user(request.user, pk)
    return stored_file_response(
        request,
        note.pdf,
        filename=f"credit-note-{note.number}.pdf",
        not_ready=_("The PDF of this credit note is still being prepared."),
        regenerate=lambda: services.credit_note_pdf_lost(
            credit_note_id=note.pk, name=note.pdf.name
        ),
    )


# --- Administrators: anchors and contracts ----------------------------------------------------


@role_required(Role.ADMINISTRATOR)
def anchor_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "billing/anchor_list.html", {"anchors": _page(request, selectors.anchor_list())}
    )


@role_required(Role.ADMINISTRATOR)
def anchor_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    anchor = get_object_or_404(AnchorOrganization, pk=pk) if pk else AnchorOrganization()
    form = forms.AnchorForm(request.POST or None, instance=anchor)
    if request.method == "POST" and form.is_valid():
        services.anchor_save(
            anchor=form.save(commit=False),
            contacts=form.cleaned_data["contacts"],
            actor=request.user,
        )
        messages.success(request, _("Anchor organization saved."))
        return redirect("billing:anchor_list")
    return render(request, "billing/form.html", {"form": form, "title": _("Anchor organization")})


@role_required(Role.ADMINISTRATOR)
def contract_list(request: HttpRequest) -> HttpResponse:
    contracts = DirectCareContract.objects.select_related("anchor").order_by("anchor__name")
    return render(request, "billing/contract_list.html", {"contracts": _page(request, contracts)})


@role_required(Role.ADMINISTRATOR)
def contract_create(request: HttpRequest) -> HttpResponse:
    form = forms.ContractForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            contract = services.contract_save(contract=form.save(commit=False), actor=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Contract saved as a draft."))
            return redirect("billing:contract_detail", pk=contract.pk)
    return render(request, "billing/form.html", {"form": form, "title": _("New contract")})


@role_required(Role.ADMINISTRATOR)
def contract_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Draft contracts can be corrected; once active, their terms are what was invoiced."""
    contract = get_object_or_404(DirectCareContract, pk=pk)
    if contract.status != ContractStatus.DRAFT:
        messages.error(request, _("Only a draft contract can be changed."))
        return redirect("billing:contract_detail", pk=pk)
    form = forms.ContractForm(request.POST or None, instance=contract)
    if request.method == "POST" and form.is_valid():
        try:
            services.contract_save(contract=form.save(commit=False), actor=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Contract saved."))
            return redirect("billing:contract_detail", pk=pk)
    return render(request, "billing/form.html", {"form": form, "title": _("Edit contract")})


@role_required(Role.ADMINISTRATOR)
def contract_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contract = selectors.contract_summary(pk)
    enrolment_form = forms.EnrolmentForm(request.POST or None)
    if request.method == "POST" and enrolment_form.is_valid():
        data = enrolment_form.cleaned_data
        try:
            services.enrolment_add(
                contract=contract,
                member=enrolment_form.member,
                covered_from=data["covered_from"],
                covered_to=data["covered_to"],
                actor=request.user,
            )
        except ValidationError as error:
            enrolment_form.add_error(None, error)
        else:
            messages.success(request, _("Cover added."))
            return redirect("billing:contract_detail", pk=pk)
    return render(
        request,
        "billing/contract_detail.html",
        {
            "contract": contract,
            "enrolments": _page(request, selectors.contract_enrolments(contract)),
            "enrolment_form": enrolment_form,
            "end_form": forms.ContractEndForm(),
            "enrolment_end_form": forms.EnrolmentEndForm(),
            "headcount": selectors.headcount_by_month(contract, until=timezone.localdate()),
            "invoices": selectors.with_amounts(contract.invoices.all()).order_by("-period")[:12],
        },
    )


@role_required(Role.ADMINISTRATOR)
@require_POST
def contract_transition(request: HttpRequest, pk: int, to: str) -> HttpResponse:
    contract = get_object_or_404(DirectCareContract, pk=pk)
    if to not in ContractStatus.values:
        raise Http404
    end_date = None
    if to == ContractStatus.ENDED:
        form = forms.ContractEndForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Give the date the contract ends."))
            return redirect("billing:contract_detail", pk=pk)
        end_date = form.cleaned_data["end_date"]
    try:
        services.contract_transition(
            contract=contract, to=to, actor=request.user, end_date=end_date
        )
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, _("Contract is now %(status)s.") % {"status": to})
    return redirect("billing:contract_detail", pk=pk)


@role_required(Role.ADMINISTRATOR)
@require_POST
def enrolment_end(request: HttpRequest, pk: int) -> HttpResponse:
    enrolment = get_object_or_404(CoverEnrolment, pk=pk)
    form = forms.EnrolmentEndForm(request.POST)
    if form.is_valid():
        try:
            services.enrolment_end(
                enrolment=enrolment, covered_to=form.cleaned_data["covered_to"], actor=request.user
            )
        except ValidationError as error:
            messages.error(request, _error_text(error))
        else:
            messages.success(request, _("Cover ended."))
    else:
        messages.error(request, _("Give the date the cover ends."))
    return redirect("billing:contract_detail", pk=enrolment.contract_id)


@role_required(Role.ADMINISTRATOR)
def roster_import(request: HttpRequest, pk: int) -> HttpResponse:
    """Upload a roster, see the preview with every error by row and column, then confirm."""
    contract = get_object_or_404(DirectCareContract.objects.select_related("anchor"), pk=pk)
    form = forms.RosterForm(request.POST or None, request.FILES or None)
    rows, errors = [], []
    if request.method == "POST" and form.is_valid():
        text = form.cleaned_data["text"]
        if "confirm" in request.POST:
            try:
                count = services.roster_import(contract=contract, text=text, actor=request.user)
            except ValidationError as error:
                errors = error.messages
            else:
                messages.success(
                    request,
                    ngettext(
                        "%(count)d person added to the contract.",
                        "%(count)d people added to the contract.",
                        count,
                    )
                    % {"count": count},
                )
                return redirect("billing:contract_detail", pk=pk)
        else:
            rows, errors = services.roster_parse(contract=contract, text=text)
        form = forms.RosterForm(initial={"preview": sign_preview(text, salt=forms.ROSTER_SALT)})
    return render(
        request,
        "billing/roster_import.html",
        {"contract": contract, "form": form, "rows": rows, "errors": errors},
    )


# --- Administrators: invoices -------------------------------------------------------------------


@role_required(Role.ADMINISTRATOR)
def invoice_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in InvoiceStatus.values:
        status = ""
    # A run's result links here with its period; a bad value lists every period.
    month = forms.MonthForm(request.GET or None)
    period = month.cleaned_data["month"] if "month" in request.GET and month.is_valid() else None
    return render(
        request,
        "billing/invoice_list.html",
        {
            "invoices": _page(request, selectors.invoice_list(status=status, period=period)),
            "status": status,
            "statuses": InvoiceStatus.choices,
            "period": period,
        },
    )


@role_required(Role.ADMINISTRATOR)
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = selectors.invoice_detail(pk)
    return _invoice_page(
        request,
        invoice,
        forms.PaymentForm(auto_id="payment_%s"),
        forms.CreditNoteForm(auto_id="credit_%s"),
    )


def _invoice_page(
    request, invoice, payment_form, credit_form, status=200, refund_form=None
) -> HttpResponse:
    balance = selectors.balance_of(invoice)
    return render(
        request,
        "billing/invoice_detail.html",
        {
            "invoice": invoice,
            "lines": Paginator(selectors.invoice_lines(invoice), LINES_PAGE_SIZE).get_page(
                request.GET.get("page")
            ),
            "balance": balance,
            "payment_form": payment_form,
            "credit_form": credit_form,
            "refund_form": refund_form or forms.RefundForm(auto_id="refund_%s"),
            "open": invoice.status not in (InvoiceStatus.PAID, InvoiceStatus.CREDITED),
            # A paid invoice can still be corrected; the credit is then refunded.
            "creditable": invoice.credited < invoice.total,
            "owed_back": -balance if balance < 0 else None,
        },
        status=status,
    )


@role_required(Role.ADMINISTRATOR)
@require_POST
def payment_create(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = selectors.invoice_detail(pk)
    form = forms.PaymentForm(request.POST, auto_id="payment_%s")
    if form.is_valid():
        try:
            services.payment_record(invoice=invoice, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error("amount", error)
        else:
            messages.success(request, _("Payment recorded."))
            return redirect("billing:invoice_detail", pk=pk)
    return _invoice_page(
        request, invoice, form, forms.CreditNoteForm(auto_id="credit_%s"), status=400
    )


@role_required(Role.ADMINISTRATOR)
@require_POST
# The confirmation page is harmless; issuing makes a document that can never be deleted.
@reauthentication_required(enabled=lambda request: "confirm" in request.POST)
def credit_note_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Asks first: what will be credited, the balance after it, who is emailed; issues on
    the confirmed request."""
    invoice = selectors.invoice_detail(pk)
    form = forms.CreditNoteForm(request.POST, auto_id="credit_%s")
    if form.is_valid() and "confirm" not in request.POST:
        preview = selectors.credit_note_preview(invoice, **form.cleaned_data)
        if not preview.too_much:
            return render(
                request, "billing/credit_note_confirm.html", {"preview": preview, "form": form}
            )
        form.add_error(
            "amount",
            _("Only %(creditable)s not yet credited on invoice %(number)s can be credited.")
            % {
                "creditable": format_money(preview.creditable, invoice.currency),
                "number": invoice.number,
            },
        )
    elif form.is_valid():
        try:
            services.credit_note_issue(invoice=invoice, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error("amount", error)
        else:
            messages.success(request, _("Credit note issued."))
            return redirect("billing:invoice_detail", pk=pk)
    return _invoice_page(
        request, invoice, forms.PaymentForm(auto_id="payment_%s"), form, status=400
    )


@role_required(Role.ADMINISTRATOR)
@require_POST
def invoice_email_resend(request: HttpRequest, pk: int) -> HttpResponse:
    """Send again an email whose delivery failed or is unknown, once staff have checked."""
    email = get_object_or_404(InvoiceEmail, pk=pk)
    try:
        services.invoice_email_resend(email_id=email.pk, actor=request.user)
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, _("The email is queued to be sent again."))
    return redirect("billing:invoice_detail", pk=email.invoice_id)


@role_required(Role.ADMINISTRATOR)
@require_POST
def refund_create(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = selectors.invoice_detail(pk)
    form = forms.RefundForm(request.POST, auto_id="refund_%s")
    if form.is_valid():
        try:
            services.refund_record(invoice=invoice, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error("amount", error)
        else:
            messages.success(request, _("Refund recorded."))
            return redirect("billing:invoice_detail", pk=pk)
    return _invoice_page(
        request,
        invoice,
        forms.PaymentForm(auto_id="payment_%s"),
        forms.CreditNoteForm(auto_id="credit_%s"),
        status=400,
        refund_form=form,
    )


@role_required(Role.ADMINISTRATOR)
def run_invoicing(request: HttpRequest) -> HttpResponse:
    """Choose what to invoice; the worker drafts the preview, shown on its own page."""
    form = forms.RunForm(
        request.POST or None, initial={"period": forms.default_month(), "include_members": True}
    )
    if request.method == "POST" and form.is_valid():
        preview = services.invoice_run_preview_request(
            period=form.cleaned_data["period"],
            contract=form.cleaned_data["contract"],
            include_members=form.cleaned_data["include_members"],
            actor=request.user,
        )
        return redirect("billing:run_preview", pk=preview.pk)
    return render(request, "billing/run.html", {"form": form})


@role_required(Role.ADMINISTRATOR)
@never_cache
# The preview is harmless; starting the run issues documents that can never be deleted.
@reauthentication_required(enabled=lambda request: request.method == "POST")
def run_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The preview (counts, totals, a page of invoices, problems first), and the confirm
    step that starts the run."""
    preview = selectors.run_preview_detail(pk)
    if request.method == "POST":
        try:
            run = services.invoice_run_start(preview=preview, actor=request.user)
        except ValidationError as error:
            messages.error(request, _error_text(error))
            return redirect("billing:run_preview", pk=pk)
        return redirect("billing:run_progress", pk=run.pk)
    summary = (
        selectors.run_preview_summary(preview) if preview.status == PreviewStatus.READY else None
    )
    context = {
        "preview": preview,
        "summary": summary,
        "totals_text": ", ".join(
            format_money(total, currency)
            for currency, total in (summary.totals_by_currency.items() if summary else ())
        ),
        "items": _page(request, selectors.run_preview_items(preview)) if summary else None,
    }
    if request.headers.get("HX-Request"):
        # While the worker drafts, the panel polls itself; the ready panel (summary,
        # confirm step, first page of invoices) comes back without the trigger.
        return render(request, "billing/_run_preview.html", context)
    return render(request, "billing/run_preview.html", context)


@role_required(Role.ADMINISTRATOR)
@never_cache
def run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """A started run: invoices issued so far of those expected, batches done, and when it
    has finished the counts and a link to the invoices of the period."""
    run = selectors.invoice_run_detail(pk)
    template = (
        "billing/_run_progress.html"
        if request.headers.get("HX-Request")
        else "billing/run_progress.html"
    )
    return render(request, template, {"run": run})


# --- Administrators: reports -------------------------------------------------------------------


@role_required(Role.ADMINISTRATOR)
def aging_report(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    report = selectors.aging_report(on=today)
    payers = _page(request, report.payers)
    return render(
        request,
        "billing/aging.html",
        {
            "report": report,
            "payers": payers,
            "rows": report.rows(payers),
            "buckets": selectors.AGING_BUCKETS,
            "today": today,
        },
    )


@role_required(Role.ADMINISTRATOR)
def aging_report_csv(request: HttpRequest) -> StreamingHttpResponse:
    """Every unpaid invoice, streamed: the page shows payers; the CSV has the detail."""
    today = timezone.localdate()
    invoices = (
        selectors.unpaid_invoices_on(on=today)
        .order_by("due_date", "number")
        .values_list(
            "number", "bill_to_name", "issue_date", "due_date", "bucket", "balance", "currency"
        )
    )
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(
            [
                "invoice",
                "bill_to",
                "issue_date",
                "due_date",
                "days_overdue",
                "bucket",
                "balance",
                "currency",
            ]
        )
        for number, bill_to, issued, due, bucket, balance, currency in invoices.iterator(
            chunk_size=2000
        ):
            days = max((today - due).days, 0)
            balance = quantize_money(balance, currency)
            yield writer.writerow([number, bill_to, issued, due, days, bucket, balance, currency])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="aging-{today.isoformat()}.csv"'
    return response


class _Echo:
    """A file-like object csv.writer writes to that hands each line back."""

    def write(self, value: str) -> str:
        return value


def _statement_month(request: HttpRequest) -> datetime.date:
    form = forms.MonthForm(request.GET or None)
    return form.cleaned_data["month"] if form.is_valid() else forms.default_month()


@role_required(Role.ADMINISTRATOR)
def federation_statement(request: HttpRequest) -> HttpResponse:
    month = _statement_month(request)
    context = {
        "statement": selectors.federation_statement(month=month),
        "document": selectors.federation_statement_document(month=month),
        "form": forms.MonthForm(initial={"month": month}),
    }
    if request.headers.get("HX-Request"):
        # The status panel polls itself while the worker prepares the PDF.
        return render(request, "billing/_federation_document.html", context)
    return render(request, "billing/federation.html", context)


@role_required(Role.ADMINISTRATOR)
@require_POST
def federation_statement_request(request: HttpRequest) -> HttpResponse:
    """Queue the month's statement PDF for the worker to prepare."""
    form = forms.MonthForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose the month of the statement."))
        return redirect("billing:federation_statement")
    month = form.cleaned_data["month"]
    services.federation_statement_request(month=month, actor=request.user)
    messages.success(
        request,
        _("The statement for %(month)s is being prepared; its PDF appears here when ready.")
        % {"month": month.strftime("%Y-%m")},
    )
    return redirect(f"{reverse('billing:federation_statement')}?month={month:%Y-%m}")


@role_required(Role.ADMINISTRATOR)
def federation_statement_pdf(request: HttpRequest) -> FileResponse:
    document = selectors.federation_statement_document(month=_statement_month(request))
    if document is None:
        raise Http404(_("No statement PDF has been prepared for this month yet."))
    return stored_file_response(
        request,
        document.pdf,
        filename=f"federation-{document.month:%Y-%m}.pdf",
        not_ready=_("No statement PDF has been prepared for this month yet."),
    )


@role_required(Role.ADMINISTRATOR, Role.ANCHOR_CONTACT)
def value_report(request: HttpRequest, pk: int) -> HttpResponse:
    """What the anchor bought and the care delivered, in aggregates: for the office, and
    for the anchor's own contacts (another organization's contract is a 404)."""
    contract = selectors.value_report_contract_for_user(request.user, pk)
    report, form = _value_report(request, contract)
    return render(request, "billing/value_report.html", {"report": report, "form": form})


@role_required(Role.ADMINISTRATOR, Role.ANCHOR_CONTACT)
def value_report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The value report as a PDF, for the months asked for on the page.

    Rendered while the person waits: a page of aggregates, different for every choice of
    months, that there is no point in keeping.
    """
    from clinic.pdf import render_pdf

    contract = selectors.value_report_contract_for_user(request.user, pk)
    report, _form = _value_report(request, contract)
    response = HttpResponse(
        render_pdf("billing/pdf/value_report.html", {"report": report}),
        content_type="application/pdf",
    )
    filename = f"value-report-{contract.reference}-{report.start:%Y-%m}-{report.end:%Y-%m}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _value_report(request: HttpRequest, contract):
    # By default, the last four quarters up to the last invoiced month: billed and previous
    # spend then compare the same months, and care is counted per whole quarter.
    last_period = contract.invoices.order_by("-period").values_list("period", flat=True).first()
    last_period = last_period or rules.previous_month(timezone.localdate())
    default_end = rules.month_start(rules.quarter_end(last_period))
    default_start = rules.quarter_start(default_end.replace(year=default_end.year - 1, day=1))
    default_start = rules.next_month(rules.quarter_end(default_start))
    form = forms.ValueReportForm(
        request.GET or None, initial={"start": default_start, "end": default_end}
    )
    start, end = default_start, default_end
    if form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    return selectors.anchor_value_report(contract=contract, start=start, end=end), form


# --- Account statements (PDF, for the payer and the office) -------------------------------------


def _statement_response(request: HttpRequest, build, *, filename: str) -> HttpResponse:
    """The statement PDF for the range asked (this year to today when none is given); a
    range that is not valid gets the form back with its errors."""
    from clinic.pdf import render_pdf

    form = forms.StatementForm(request.GET or forms.StatementForm.default_range())
    if not form.is_valid():
        return render(request, "billing/statement_form_page.html", {"form": form}, status=400)
    statement = build(start=form.cleaned_data["start"], end=form.cleaned_data["end"])
    # Rendered in the request: a statement is one payer's entries over at most two years
    # (StatementForm.MAX_DAYS), a page or two, and reflects the records as they are now.
    data = render_pdf("billing/pdf/statement.html", {"statement": statement})
    response = HttpResponse(data, content_type="application/pdf")
    name = f"{filename}-{statement.start:%Y%m%d}-{statement.end:%Y%m%d}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@role_required(Role.MEMBER)
def my_statement(request: HttpRequest) -> HttpResponse:
    from members.selectors import member_for_user

    member = member_for_user(request.user)
    return _statement_response(
        request,
        lambda **dates: selectors.member_account_statement(member, **dates),
        filename="statement",
    )


@role_required(Role.ADMINISTRATOR)
def member_statement(request: HttpRequest, member_pk: int) -> HttpResponse:
    from members.selectors import member_for_admin

    member = member_for_admin(member_pk)
    return _statement_response(
        request,
        lambda **dates: selectors.member_account_statement(member, **dates),
        filename=f"statement-member-{member.number or member.pk}",
    )


@role_required(Role.ADMINISTRATOR, Role.ANCHOR_CONTACT)
def contract_statement(request: HttpRequest, pk: int) -> HttpResponse:
    contract = selectors.contract_for_statement(request.user, pk)
    return _statement_response(
        request,
        lambda **dates: selectors.contract_account_statement(contract, **dates),
        filename=f"statement-{contract.reference}",
    )


@role_required(Role.ADMINISTRATOR)
def aging_remind(request: HttpRequest) -> HttpResponse:
    """From the aging report: remind one payer of their overdue invoices, after saying how
    many invoices and to whom. The payer is ``?contract=`` or ``?member=``, and ``currency``."""
    today = timezone.localdate()
    params = request.POST if request.method == "POST" else request.GET
    payer = selectors.payer_overdue(
        on=today,
        currency=str(params.get("currency", ""))[:3],
        contract_id=id_param(params.get("contract")),
        member_id=id_param(params.get("member")),
    )
    if payer is None:
        raise Http404(_("This payer has no overdue invoice."))
    if request.method == "POST":
        queued, already = services.payer_reminders_send(
            invoice_ids=[invoice.pk for invoice in payer.invoices], today=today, actor=request.user
        )
        recipients = ", ".join(payer.recipients)
        if queued:
            messages.success(
                request,
                ngettext(
                    "A reminder of %(count)d overdue invoice is being sent to %(to)s.",
                    "Reminders of %(count)d overdue invoices are being sent to %(to)s.",
                    queued,
                )
                % {"count": queued, "to": recipients},
            )
        if already:
            messages.info(
                request,
                ngettext(
                    "%(count)d invoice was already reminded today; it is not sent again.",
                    "%(count)d invoices were already reminded today; they are not sent again.",
                    already,
                )
                % {"count": already},
            )
        return redirect("billing:aging_report")
    return render(request, "billing/aging_remind.html", {"payer": payer, "today": today})
