from decimal import Decimal

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.params import MAX_INT
from governance.models import (
    BallotKind,
    BoardRole,
    MajorityRule,
    MeetingKind,
)
from members.models import Member, MemberStatus


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def _helper(label: str) -> FormHelper:
    helper = FormHelper()
    # Templates write the <form> tag themselves (method, action, enctype, CSRF).
    helper.form_tag = False
    helper.add_input(Submit("submit", label))
    return helper


class MeetingForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=MeetingKind.choices)
    title = forms.CharField(label=_("Title"), max_length=200)
    starts_at = forms.DateTimeField(label=_("Starts"), widget=DateTimeInput())
    ends_at = forms.DateTimeField(label=_("Ends"), widget=DateTimeInput())
    place = forms.CharField(label=_("Place"), max_length=255, required=False)
    online_link = forms.URLField(label=_("Online link"), required=False, assume_scheme="https")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["starts_at"].help_text = _(
            "Date and time in the clinic's time zone (%(zone)s). General meetings need at "
            "least %(days)d days' notice, so they cannot be scheduled earlier than that."
        ) % {"zone": settings.TIME_ZONE, "days": settings.CLINIC_NOTICE_PERIOD_DAYS}
        self.fields["ends_at"].help_text = _(
            "When the meeting is expected to end; members' calendar invitations block this time."
        )
        self.helper = _helper(_("Schedule meeting"))

    def clean(self):
        return _clean_meeting(self, super().clean())


def _clean_meeting(form: forms.Form, data: dict) -> dict:
    starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
    if starts_at and ends_at and ends_at <= starts_at:
        form.add_error("ends_at", _("A meeting ends after it starts."))
    if not data.get("place") and not data.get("online_link"):
        raise forms.ValidationError(_("Give a place, an online link, or both."))
    return data


class MeetingEditForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    starts_at = forms.DateTimeField(label=_("Starts"), widget=DateTimeInput())
    ends_at = forms.DateTimeField(label=_("Ends"), widget=DateTimeInput())
    place = forms.CharField(label=_("Place"), max_length=255, required=False)
    online_link = forms.URLField(label=_("Online link"), required=False, assume_scheme="https")
    minutes = forms.CharField(
        label=_("Minutes"),
        widget=forms.Textarea(attrs={"rows": 8}),
        required=False,
        help_text=_("Recorded once the meeting has been held."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(_("Save"))

    def clean(self):
        return _clean_meeting(self, super().clean())


class AgendaItemForm(forms.Form):
    title = forms.CharField(label=_("Agenda item"), max_length=200)
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(_("Add to agenda"))


class DocumentForm(forms.Form):
    title = forms.CharField(label=_("Document title"), max_length=200)
    file = forms.FileField(
        label=_("PDF file"), widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(_("Upload"))


def _candidate_queryset():
    return Member.objects.filter(status=MemberStatus.ACTIVE).select_related("user")


class CandidateField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Member) -> str:
        return f"{obj.full_name} (#{obj.number})"


class BallotForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Text of the motion or election"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=BallotKind.choices)
    majority_rule = forms.ChoiceField(
        label=_("Majority rule"),
        choices=MajorityRule.choices,
        help_text=_("Motions: simple or two-thirds (rule changes). Elections: plurality."),
    )
    seats = forms.IntegerField(
        label=_("Seats (candidates each voter may choose)"),
        min_value=1,
        max_value=MAX_INT,
        initial=1,
    )
    candidates = CandidateField(
        label=_("Candidates (elections only)"),
        queryset=Member.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    record_date = forms.DateField(
        label=_("Record date"),
        widget=DateInput(),
        help_text=_("Members in good standing on this date may vote."),
    )
    opens_at = forms.DateTimeField(label=_("Opens"), widget=DateTimeInput())
    closes_at = forms.DateTimeField(label=_("Closes"), widget=DateTimeInput())
    quorum_percent = forms.DecimalField(
        label=_("Quorum (% of eligible voters who must take part)"),
        min_value=Decimal(0),
        max_value=Decimal(100),
        decimal_places=1,
    )
    allow_proxies = forms.BooleanField(label=_("Allow proxy voting"), required=False)

    def __init__(self, *args, ballot=None, **kwargs):
        if ballot is not None:
            kwargs.setdefault(
                "initial",
                {
                    "title": ballot.title,
                    "description": ballot.description,
                    "kind": ballot.kind,
                    "majority_rule": ballot.majority_rule,
                    "seats": ballot.seats,
                    "candidates": [o.candidate_id for o in ballot.options.all() if o.candidate_id],
                    "record_date": ballot.record_date,
                    "opens_at": timezone.localtime(ballot.opens_at),
                    "closes_at": timezone.localtime(ballot.closes_at),
                    "quorum_percent": (ballot.quorum * 100).quantize(Decimal("0.1")),
                    "allow_proxies": ballot.allow_proxies,
                },
            )
        super().__init__(*args, **kwargs)
        self.fields["candidates"].queryset = _candidate_queryset()
        if ballot is None:
            self.fields["quorum_percent"].initial = (settings.CLINIC_DEFAULT_QUORUM * 100).quantize(
                Decimal("0.1")
            )
            self.fields["record_date"].initial = timezone.localdate()
        self.helper = _helper(_("Create ballot"))
        if ballot is not None:
            # Editing a draft: the kind decides the options, so it stays what it was.
            self.fields["kind"].disabled = True
            self.helper = _helper(_("Save ballot"))

    def clean(self):
        data = super().clean()
        kind, rule = data.get("kind"), data.get("majority_rule")
        if kind == BallotKind.MOTION and rule == MajorityRule.PLURALITY:
            self.add_error(
                "majority_rule", _("A motion is decided by simple or two-thirds majority.")
            )
        if kind == BallotKind.ELECTION:
            if rule != MajorityRule.PLURALITY:
                self.add_error("majority_rule", _("An election is decided by plurality."))
            if not data.get("candidates"):
                self.add_error("candidates", _("An election needs candidates."))
        if data.get("quorum_percent") is not None:
            data["quorum"] = (data["quorum_percent"] / 100).quantize(Decimal("0.001"))
        return data


class VoteForm(forms.Form):
    """The ballot paper: one choice for a motion, up to k candidates for an election."""

    def __init__(self, *args, ballot, **kwargs):
        super().__init__(*args, **kwargs)
        self.ballot = ballot
        choices = [(str(o.pk), o.display_label) for o in ballot.options.all()]
        if ballot.kind == BallotKind.MOTION:
            self.fields["choice"] = forms.TypedChoiceField(
                label=_("Your vote"),
                choices=choices,
                coerce=int,
                widget=forms.RadioSelect,
            )
        else:
            self.fields["choice"] = forms.TypedMultipleChoiceField(
                label=_("Choose up to %(seats)d") % {"seats": ballot.seats},
                choices=choices,
                coerce=int,
                widget=forms.CheckboxSelectMultiple,
            )

    def clean_choice(self):
        chosen = self.cleaned_data["choice"]
        if self.ballot.kind == BallotKind.MOTION:
            return [chosen]
        if len(chosen) > self.ballot.seats:
            raise forms.ValidationError(
                _("Choose at most %(seats)d candidates.") % {"seats": self.ballot.seats}
            )
        return chosen


class ProxySearchForm(forms.Form):
    """Find a proxy by name among the ballot's eligible voters (never by a typed number)."""

    q = forms.CharField(
        label=_("Name of the member you want as your proxy"),
        min_length=3,
        max_length=100,
        help_text=_("Another member eligible in this ballot, who will vote for you."),
    )


class ProxyForm(forms.Form):
    """The member chosen from the search results."""

    proxy = forms.IntegerField(min_value=1, max_value=2**31 - 1, widget=forms.HiddenInput)


class ReceiptSearchForm(forms.Form):
    receipt = forms.CharField(
        label=_("Your receipt code"),
        max_length=64,
        help_text=_("Spaces, dashes and capitals do not matter."),
    )


class BoardTermForm(forms.Form):
    member = forms.ModelChoiceField(label=_("Member"), queryset=Member.objects.none())
    role = forms.ChoiceField(label=_("Role"), choices=BoardRole.choices)
    starts_on = forms.DateField(label=_("Term starts"), widget=DateInput())
    ends_on = forms.DateField(label=_("Term ends"), widget=DateInput())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = _candidate_queryset()
        self.helper = _helper(_("Add board term"))


class ApplyElectionForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=BoardRole.choices, initial=BoardRole.DIRECTOR)
    starts_on = forms.DateField(label=_("Terms start"), widget=DateInput())
    ends_on = forms.DateField(label=_("Terms end"), widget=DateInput())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(_("Apply result to the board"))
