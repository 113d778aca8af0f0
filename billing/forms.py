import datetime

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from billing import rules
from billing.models import (
    AnchorOrganization,
    ContractStatus,
    DirectCareContract,
    PaymentMethod,
)
from clinic.money import check_minor_unit
from clinic.params import MAX_INT
from clinic.roles import Role
from clinic.uploads import read_csv_upload, unsign_preview

DATE = forms.DateInput(attrs={"type": "date"})
MONTH = forms.DateInput(attrs={"type": "month"}, format="%Y-%m")


class MonthField(forms.DateField):
    """A calendar month, entered as YYYY-MM; its value is the month's first day."""

    widget = MONTH
    input_formats = ["%Y-%m", "%Y-%m-%d"]

    # Month arithmetic (next month, a year before) must stay inside what ``datetime.date``
    # can hold: 0001-01 or 9999-12 would raise instead of giving a field error.
    first = datetime.date(1900, 1, 1)
    last = datetime.date(2999, 12, 1)

    def to_python(self, value):
        day = super().to_python(value)
        return rules.month_start(day) if day else day

    def validate(self, value):
        super().validate(value)
        if value and not self.first <= value <= self.last:
            raise forms.ValidationError(
                _("Enter a month between %(first)s and %(last)s.")
                % {
                    "first": date_format(self.first, "YEAR_MONTH_FORMAT"),
                    "last": date_format(self.last, "YEAR_MONTH_FORMAT"),
                },
                code="out_of_range",
            )


class AnchorForm(forms.ModelForm):
    contacts = forms.ModelMultipleChoiceField(
        label=_("Anchor contacts (who log in for this organization)"),
        queryset=get_user_model()
        .objects.filter(groups__name=Role.ANCHOR_CONTACT)
        .order_by("email"),
        required=False,
    )

    class Meta:
        model = AnchorOrganization
        fields = [
            "name",
            "kind",
            "billing_contact_name",
            "billing_contact_email",
            "address",
            "tax_id",
            "previous_spend_per_person_month",
            "currency",
        ]
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["contacts"].initial = self.instance.contacts.all()


class ContractForm(forms.ModelForm):
    # Bounded so a due date stays a date and fits the column (a huge number overflowed).
    payment_terms_days = forms.IntegerField(
        label=_("Payment terms (net days)"), min_value=0, max_value=366, initial=30
    )

    class Meta:
        model = DirectCareContract
        fields = [
            "anchor",
            "reference",
            "start_date",
            "end_date",
            "rate_per_member_month",
            "currency",
            "payment_terms_days",
            "billing_day",
        ]
        widgets = {"start_date": DATE, "end_date": DATE}

    def clean(self):
        cleaned = super().clean()
        try:
            check_minor_unit(cleaned.get("rate_per_member_month"), cleaned.get("currency", ""))
        except forms.ValidationError as error:
            self.add_error("rate_per_member_month", error)
        return cleaned


class ContractEndForm(forms.Form):
    end_date = forms.DateField(label=_("Contract ends on"), widget=DATE)


class EnrolmentForm(forms.Form):
    member_number = forms.IntegerField(label=_("Member number"), min_value=1, max_value=MAX_INT)
    covered_from = forms.DateField(label=_("Covered from"), widget=DATE)
    covered_to = forms.DateField(label=_("Covered to (optional)"), widget=DATE, required=False)

    def clean_member_number(self):
        from members.models import Member

        number = self.cleaned_data["member_number"]
        member = Member.objects.filter(number=number).select_related("user").first()
        if member is None:
            raise forms.ValidationError(_("There is no member number %(n)s.") % {"n": number})
        self.member = member
        return number


class EnrolmentEndForm(forms.Form):
    covered_to = forms.DateField(label=_("Cover ends on"), widget=DATE)


ROSTER_SALT = "billing.roster"


class RosterForm(forms.Form):
    file = forms.FileField(
        label=_("Roster CSV (columns member_number or email, covered_from, covered_to)"),
        required=False,
    )
    # The previewed file, signed: a confirmation imports exactly what was previewed.
    preview = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean(self):
        data = super().clean()
        upload = data.get("file")
        if upload:
            try:
                data["text"] = read_csv_upload(upload)
            except forms.ValidationError as error:
                self.add_error("file", error)
                return data
        elif data.get("preview"):
            data["text"] = unsign_preview(data["preview"], salt=ROSTER_SALT)
            if data["text"] is None:
                raise forms.ValidationError(_("The preview expired; upload the file again."))
        if not data.get("text"):
            raise forms.ValidationError(_("Choose a CSV file."))
        return data


class RunForm(forms.Form):
    period = MonthField(label=_("Billing period (month)"))
    contract = forms.ModelChoiceField(
        label=_("Only this contract"),
        queryset=DirectCareContract.objects.exclude(status=ContractStatus.DRAFT).select_related(
            "anchor"
        ),
        required=False,
        empty_label=_("All contracts"),
    )
    include_members = forms.BooleanField(
        label=_("Include members' fee invoices"), required=False, initial=True
    )

    def clean_period(self):
        period = self.cleaned_data["period"]
        if period > rules.month_start(timezone.localdate()):
            raise forms.ValidationError(_("A month that has not started cannot be invoiced."))
        return period


class PaymentForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount"), max_digits=15, decimal_places=4, min_value=0.01)
    paid_on = forms.DateField(label=_("Date paid"), widget=DATE, initial=timezone.localdate)
    method = forms.ChoiceField(label=_("Method"), choices=PaymentMethod.choices)
    reference = forms.CharField(label=_("Reference"), max_length=100, required=False)

    def clean_paid_on(self):
        paid_on = self.cleaned_data["paid_on"]
        if paid_on > timezone.localdate():
            raise forms.ValidationError(_("A payment cannot be recorded in the future."))
        return paid_on


class CreditNoteForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount to credit"), max_digits=15, decimal_places=4, min_value=0.01
    )
    reason = forms.CharField(label=_("Reason"), max_length=255)
    # Carried by the confirmation page: what was credited when the office confirmed, so a
    # second click (or a stale page) issues nothing more.
    credited_before = forms.DecimalField(
        required=False, widget=forms.HiddenInput, max_digits=12, decimal_places=2
    )


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount refunded"), max_digits=15, decimal_places=4, min_value=0.01
    )
    refunded_on = forms.DateField(label=_("Date refunded"), widget=DATE, initial=timezone.localdate)
    method = forms.ChoiceField(label=_("Method"), choices=PaymentMethod.choices)
    reference = forms.CharField(label=_("Reference"), max_length=100, required=False)
    reason = forms.CharField(label=_("Reason"), max_length=255)

    def clean_refunded_on(self):
        refunded_on = self.cleaned_data["refunded_on"]
        if refunded_on > timezone.localdate():
            raise forms.ValidationError(_("A refund cannot be recorded in the future."))
        return refunded_on


class ValueReportForm(forms.Form):
    """Whole calendar quarters only: care counts are reported per fixed quarter, so two
    overlapping windows cannot be subtracted to reveal one person's arc."""

    MAX_QUARTERS = 20

    start = MonthField(label=_("From month (first month of a quarter)"))
    end = MonthField(label=_("To month (last month of a quarter)"))

    def clean_start(self):
        start = self.cleaned_data["start"]
        if start != rules.quarter_start(start):
            raise forms.ValidationError(
                _("Start with the first month of a quarter (January, April, July or October).")
            )
        return start

    def clean_end(self):
        end = self.cleaned_data["end"]
        if rules.month_end(end) != rules.quarter_end(end):
            raise forms.ValidationError(
                _("End with the last month of a quarter (March, June, September or December).")
            )
        return end

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end"):
            if data["end"] < data["start"]:
                raise forms.ValidationError(_("The last month is before the first."))
            if len(rules.quarters(data["start"], data["end"])) > self.MAX_QUARTERS:
                raise forms.ValidationError(
                    _("Choose at most %(n)d quarters.") % {"n": self.MAX_QUARTERS}
                )
        return data


class MonthForm(forms.Form):
    month = MonthField(label=_("Month"))


def default_month() -> datetime.date:
    return rules.previous_month(timezone.localdate())


class StatementForm(forms.Form):
    """The date range of an account statement: at most two years, so one PDF stays a
    readable length (older years are asked for one range at a time)."""

    MAX_DAYS = 731

    start = forms.DateField(label=_("From"), widget=DATE)
    end = forms.DateField(label=_("To"), widget=DATE)

    @staticmethod
    def default_range() -> dict:
        today = timezone.localdate()
        return {"start": today.replace(month=1, day=1), "end": today}

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", _("The end date is before the start date."))
            elif (end - start).days > self.MAX_DAYS:
                self.add_error("end", _("A statement covers at most two years."))
        return data
