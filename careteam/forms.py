from django import forms
from django.utils.translation import gettext_lazy as _

from careteam.models import ConsultationRequest, Discipline, Practitioner, TeamRole
from careteam.selectors import practitioners


class PractitionerChoiceField(forms.ModelChoiceField):
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
    discipline = forms.ModelChoiceField(
        label=_("Discipline"), queryset=Discipline.objects.all(), required=False
    )
    practitioner = PractitionerChoiceField(
        label=_("Practitioner"), queryset=Practitioner.objects, required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioner"].queryset = practitioners()


class AssignmentEndForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (optional)"),
        required=False,
        max_length=200,
        help_text=_("Kept with the care team's history."),
    )


class CaseloadSearchForm(forms.Form):
    q = forms.CharField(label=_("Name or member number"), required=False, max_length=100)
