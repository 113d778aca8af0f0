import datetime
from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from clinic.money import check_minor_unit
from clinic.params import MAX_INT
from clinic.uploads import read_csv_upload
from members.models import (
    STATUS_TRANSITIONS,
    FeePeriod,
    FeePlan,
    Member,
    MemberStatus,
    NoticeDelivery,
    PaymentMethod,
    ShareClass,
)
from members.services import FEE_PLAN_TERMS_FIXED

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _not_future(value: datetime.date | None) -> datetime.date | None:
    if value and value > timezone.localdate():
        raise forms.ValidationError(_("This date is in the future."))
    return value


class JoinForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    email = forms.EmailField(label=_("Email"))
    date_of_birth = forms.DateField(label=_("Date of birth"), widget=DATE_INPUT)
    address = forms.CharField(label=_("Address"), widget=forms.Textarea(attrs={"rows": 3}))
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    preferred_language = forms.ChoiceField(label=_("Preferred language"), choices=())
    notice_delivery = forms.ChoiceField(
        label=_("How should we send you notices of general meetings?"),
        choices=NoticeDelivery.choices,
        initial=NoticeDelivery.EMAIL,
        widget=forms.RadioSelect,
    )
    payment_method = forms.ChoiceField(
        label=_("How will your membership be paid?"),
        choices=PaymentMethod.choices,
        initial=PaymentMethod.FEE_PLAN,
        widget=forms.RadioSelect,
    )
    requested_fee_plan = forms.ModelChoiceField(
        label=_("Fee plan"),
        queryset=FeePlan.objects.none(),
        required=False,
        help_text=_("The sliding scale lets you choose the tier that fits your income."),
    )
    anchor_organization_name = forms.CharField(
        label=_("Organization that covers you"), max_length=200, required=False
    )
    agree_to_rules = forms.BooleanField(label=_("I agree to the cooperative's rules"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["preferred_language"].choices = settings.LANGUAGES
        self.fields["preferred_language"].initial = settings.LANGUAGE_CODE
        self.fields["requested_fee_plan"].queryset = FeePlan.objects.filter(is_available=True)
        self.fields["agree_to_rules"].help_text = format_html(
            '<a href="{}">{}</a>', settings.CLINIC_RULES_URL, _("Read the cooperative's rules")
        )

    def clean_date_of_birth(self):
        return _not_future(self.cleaned_data["date_of_birth"])

    def clean(self):
        cleaned = super().clean()
        method = cleaned.get("payment_method")
        if method == PaymentMethod.FEE_PLAN and not cleaned.get("requested_fee_plan"):
            self.add_error("requested_fee_plan", _("Choose the fee plan you will pay."))
        if method == PaymentMethod.ANCHOR and not cleaned.get("anchor_organization_name"):
            self.add_error("anchor_organization_name", _("Name the organization that covers you."))
        return cleaned


class MemberDetailsForm(forms.Form):
    """What members change themselves: contact details, language and notice delivery."""

    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    address = forms.CharField(label=_("Address"), widget=forms.Textarea(attrs={"rows": 3}))
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    preferred_language = forms.ChoiceField(label=_("Preferred language"), choices=())
    notice_delivery = forms.ChoiceField(
        label=_("Notices of general meetings"),
        choices=NoticeDelivery.choices,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["preferred_language"].choices = settings.LANGUAGES

    @classmethod
    def initial_for(cls, member: Member) -> dict:
        return {
            "first_name": member.user.first_name,
            "last_name": member.user.last_name,
            "address": member.address,
            "phone": member.phone,
            "preferred_language": member.language,
            "notice_delivery": member.notice_delivery,
        }


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (sent to the applicant)"), widget=forms.Textarea(attrs={"rows": 3})
    )


class StatusChangeForm(forms.Form):
    to_status = forms.ChoiceField(label=_("New status"), choices=())
    effective_on = forms.DateField(label=_("Effective on"), widget=DATE_INPUT)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, member: Member, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Applying again is done by the former member, through the Join form.
        allowed = STATUS_TRANSITIONS[MemberStatus(member.status)] - {MemberStatus.APPLICANT}
        self.fields["to_status"].choices = [
            (value, label) for value, label in MemberStatus.choices if value in allowed
        ]
        self.fields["effective_on"].initial = timezone.localdate()


class FeePlanAssignForm(forms.Form):
    plan = forms.ModelChoiceField(label=_("Fee plan"), queryset=FeePlan.objects.all())
    valid_from = forms.DateField(label=_("From"), widget=DATE_INPUT)


class OrientationForm(forms.Form):
    attended_on = forms.DateField(label=_("Orientation session attended on"), widget=DATE_INPUT)


# Far more shares than any member holds, and small enough that the money they stand for
# fits the ledger's amount column: a larger number is a field error, not a failed write.
MAX_SHARES = 1_000_000
MAX_SHARE_AMOUNT = Decimal(10**10)  # amount columns are max_digits=15, decimal_places=4


class _ShareForm(forms.Form):
    share_class = forms.ModelChoiceField(label=_("Share class"), queryset=ShareClass.objects.all())
    entry_date = forms.DateField(label=_("Date"), widget=DATE_INPUT)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["entry_date"].initial = timezone.localdate()
        if ShareClass.objects.count() == 1:
            self.fields["share_class"].initial = ShareClass.objects.get()

    def clean_entry_date(self):
        return _not_future(self.cleaned_data["entry_date"])

    def clean(self):
        data = super().clean()
        share_class, quantity = data.get("share_class"), data.get("quantity")
        if share_class and quantity and share_class.par_value * quantity >= MAX_SHARE_AMOUNT:
            self.add_error("quantity", _("That many shares is more than the register can hold."))
        return data


class ShareSubscribeForm(_ShareForm):
    quantity = forms.IntegerField(label=_("Shares"), min_value=1, max_value=MAX_SHARES)


class SharePaymentForm(_ShareForm):
    amount = forms.DecimalField(
        label=_("Amount paid"), max_digits=15, decimal_places=4, min_value=0.01
    )
    reference = forms.CharField(label=_("Payment reference"), max_length=64, required=False)


class ShareTransferForm(_ShareForm):
    quantity = forms.IntegerField(label=_("Shares"), min_value=1, max_value=MAX_SHARES)
    to_member_number = forms.IntegerField(
        label=_("To member number"), min_value=1, max_value=MAX_INT
    )

    def clean_to_member_number(self):
        number = self.cleaned_data["to_member_number"]
        member = Member.objects.filter(number=number).first()
        if member is None:
            raise forms.ValidationError(_("There is no member with this number."))
        self.cleaned_data["to_member"] = member
        return number


class ShareRedeemForm(_ShareForm):
    quantity = forms.IntegerField(label=_("Shares"), min_value=1, max_value=MAX_SHARES)


class ReverseEntryForm(forms.Form):
    reason = forms.CharField(label=_("Reason for the correction"), max_length=255)


class RegisterFilterForm(forms.Form):
    q = forms.CharField(label=_("Search name, number or email"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=())
    plan = forms.ModelChoiceField(
        label=_("Fee plan"), queryset=FeePlan.objects.all(), required=False
    )
    orientation = forms.BooleanField(label=_("Not yet at orientation"), required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("Any status"))] + [
            (value, label)
            for value, label in MemberStatus.choices
            if value not in (MemberStatus.APPLICANT, MemberStatus.REJECTED)
        ]


class ImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"), help_text=_("UTF-8, comma-separated, header row."))

    def clean_file(self):
        return read_csv_upload(self.cleaned_data["file"])


class FeePlanForm(forms.ModelForm):
    class Meta:
        model = FeePlan
        fields = ["name", "amount", "currency", "period", "is_available"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["currency"].required = False
        self.fields["currency"].help_text = _("ISO 4217 code; empty for the clinic's currency.")
        self.fields["period"].choices = FeePeriod.choices

    def clean_currency(self):
        value = (self.cleaned_data.get("currency") or settings.CLINIC_CURRENCY).upper()
        if len(value) != 3 or not value.isalpha():
            raise forms.ValidationError(_("Use a three-letter ISO 4217 code."))
        return value

    def clean(self):
        cleaned = super().clean()
        try:
            check_minor_unit(cleaned.get("amount"), cleaned.get("currency", ""))
        except forms.ValidationError as error:
            self.add_error("amount", error)
        if self.instance.pk is None:
            return cleaned
        # Compared with the saved plan: the service refuses the same under a lock.
        saved = FeePlan.objects.get(pk=self.instance.pk)
        terms = ("amount", "currency", "period")
        if (
            any(name in cleaned and cleaned[name] != getattr(saved, name) for name in terms)
            and saved.assignments.exists()
        ):
            raise forms.ValidationError(FEE_PLAN_TERMS_FIXED)
        return cleaned


class MemberEmailResendForm(forms.Form):
    """Sending an email again; for an unknown outcome, staff confirm they checked first."""

    checked = forms.BooleanField(
        label=_("I checked that the recipient did not get it"), required=False
    )


class _DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M")


class OrientationSessionForm(forms.Form):
    starts_at = forms.DateTimeField(label=_("Starts"), widget=_DateTimeInput())
    ends_at = forms.DateTimeField(label=_("Ends"), widget=_DateTimeInput())
    place = forms.CharField(label=_("Place"), max_length=200)
    capacity = forms.IntegerField(label=_("Places"), min_value=1, max_value=10_000)


class OrientationRegistrationForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=200)
    email = forms.EmailField(
        label=_("Email"), help_text=_("We send the confirmation and calendar entry here.")
    )
