from django import forms
from django.utils.translation import gettext_lazy as _

from careteam.models import (
    ConsultationRequest,
    Discipline,
    InterestStatus,
    Practitioner,
    TeamRole,
)
from careteam.selectors import disciplines, practitioners


class ReadOnceChoiceIterator(forms.models.ModelChoiceIterator):
    """The choices read in one query. Django's own iterator streams them through a
    PostgreSQL server-side cursor: three round trips (declare, fetch, close) for a
    list of a few dozen rows."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in list(self.queryset):
            yield self.choice(obj)


class ListedModelChoiceField(forms.ModelChoiceField):
    iterator = ReadOnceChoiceIterator


class PractitionerChoiceField(ListedModelChoiceField):
    def label_from_instance(self, obj: Practitioner) -> str:
        return f"{obj.user.get_full_name()} ({obj.discipline.name})"


class AssignForm(forms.Form):
    practitioner = PractitionerChoiceField(label=_("Practitioner"), queryset=Practitioner.objects)
    role = forms.ChoiceField(label=_("Role on the team"), choices=TeamRole.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioner"].queryset = practitioners()


class ConsultationForm(forms.ModelForm):
    to_practitioner = PractitionerChoiceField(
        label=_("Named colleague (optional)"), queryset=Practitioner.objects, required=False
    )

    class Meta:
        model = ConsultationRequest
        fields = ["to_discipline", "to_practitioner", "question"]
        widgets = {"question": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_practitioner"].queryset = practitioners()
        self.fields["to_discipline"].queryset = Discipline.objects.all()

    def clean(self):
        cleaned = super().clean()
        colleague, discipline = cleaned.get("to_practitioner"), cleaned.get("to_discipline")
        if colleague and discipline and colleague.discipline_id != discipline.pk:
            self.add_error(
                "to_practitioner", _("This colleague does not practise that discipline.")
            )
        return cleaned


class AnswerForm(forms.Form):
    answer = forms.CharField(label=_("Answer"), widget=forms.Textarea(attrs={"rows": 4}))


class DashboardFilterForm(forms.Form):
    discipline = ListedModelChoiceField(
        label=_("Discipline"),
        queryset=Discipline.objects.order_by("name"),
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    practitioner = PractitionerChoiceField(
        label=_("Practitioner"),
        queryset=Practitioner.objects,
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioner"].queryset = practitioners()


class InterestForm(forms.Form):
    """A practitioner's expression of interest, from the public "Practise here" page."""

    name = forms.CharField(label=_("Your name"), max_length=200)
    email = forms.EmailField(label=_("Email"))
    discipline = forms.ModelChoiceField(
        label=_("Your discipline"),
        queryset=Discipline.objects.none(),
        required=False,
        empty_label=_("Another discipline (say which in your message)"),
    )
    message = forms.CharField(
        label=_("Your message"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Your experience, how you like to work, and when you could start."),
    )
    # A honeypot: hidden from people (and from assistive technology), filled by form-filling
    # robots. A form that arrives with it filled is dropped without saying so.
    website = forms.CharField(label=_("Leave this empty"), required=False, max_length=200)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["discipline"].queryset = disciplines()

    @property
    def is_spam(self) -> bool:
        return bool(self.cleaned_data.get("website"))


class InterestAnswerForm(forms.Form):
    text = forms.CharField(
        label=_("Answer"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Emailed to the person as written, with their message quoted below."),
    )


class InterestFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[("", _("All")), *InterestStatus.choices],
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )


class AssignmentEndForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (optional)"),
        required=False,
        max_length=200,
        help_text=_("Kept with the care team's history."),
    )


class CaseloadSearchForm(forms.Form):
    q = forms.CharField(label=_("Name or member number"), required=False, max_length=100)
