from django import forms
from django.utils.translation import gettext_lazy as _

from arcs.models import (
    ARC_TRANSITIONS,
    Arc,
    ArcStatus,
    Goal,
    Intervention,
    Measurement,
    NoteVisibility,
    OutcomeMeasure,
    Phase,
)
from careteam.models import Discipline, Practitioner
from clinic.params import MAX_INT


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class VersionedPlanForm(forms.ModelForm):
    """A plan form carries the version of the plan it was opened at, so that saving over a
    colleague's newer change is caught instead of silently reverting it."""

    version = forms.IntegerField(
        widget=forms.HiddenInput, required=False, min_value=0, max_value=MAX_INT
    )

    def __init__(self, *args, plan_version: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if plan_version is not None:
            self.fields["version"].initial = plan_version


class ArcForm(VersionedPlanForm):
    # Bounded so the next review date stays a date (a huge number of days overflowed).
    review_every_days = forms.IntegerField(label=_("Review every (days)"), max_value=5 * 366)

    class Meta:
        model = Arc
        fields = ["title", "endpoint", "lead_discipline", "review_every_days", "next_review_on"]
        widgets = {"endpoint": forms.Textarea(attrs={"rows": 3}), "next_review_on": DateInput()}

    def clean_review_every_days(self):
        days = self.cleaned_data["review_every_days"]
        if days < 1:
            raise forms.ValidationError(_("Reviews must be at least a day apart."))
        return days


class GoalForm(VersionedPlanForm):
    class Meta:
        model = Goal
        fields = ["description", "measure", "baseline", "target", "target_date"]
        widgets = {"target_date": DateInput()}

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("baseline") is not None and cleaned.get("baseline") == cleaned.get("target"):
            self.add_error("target", _("The target must differ from the baseline."))
        elif "target" not in self.errors:
            from arcs.services import goal_target_error

            error = goal_target_error(
                measure=cleaned.get("measure"),
                baseline=cleaned.get("baseline"),
                target=cleaned.get("target"),
            )
            if error:
                self.add_error("target", error)
        return cleaned


class PhaseForm(VersionedPlanForm):
    class Meta:
        model = Phase
        fields = ["name", "planned_start", "planned_end"]
        widgets = {"planned_start": DateInput(), "planned_end": DateInput()}

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("planned_start"), cleaned.get("planned_end")
        if start and end and end < start:
            self.add_error("planned_end", _("A phase cannot end before it starts."))
        return cleaned


class InterventionForm(VersionedPlanForm):
    class Meta:
        model = Intervention
        fields = ["description", "discipline", "practitioner", "frequency", "starts_on", "ends_on"]
        widgets = {"starts_on": DateInput(), "ends_on": DateInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioner"].queryset = Practitioner.objects.select_related(
            "user", "discipline"
        ).order_by("discipline__name", "user__last_name")
        self.fields["discipline"].queryset = Discipline.objects.all()

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("starts_on"), cleaned.get("ends_on")
        if start and end and end < start:
            self.add_error("ends_on", _("An intervention cannot end before it starts."))
        practitioner, discipline = cleaned.get("practitioner"), cleaned.get("discipline")
        if practitioner and discipline and practitioner.discipline_id != discipline.pk:
            self.add_error(
                "practitioner", _("The responsible practitioner does not practise that discipline.")
            )
        return cleaned


class PlanItemRemoveForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is it coming out of the plan?"),
        required=False,
        max_length=200,
        help_text=_("Kept with the plan's history."),
    )


class StatusForm(forms.Form):
    to_status = forms.ChoiceField(label=_("New status"))
    reason = forms.CharField(
        label=_("Reason (required to discontinue)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, arc: Arc, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = ARC_TRANSITIONS[arc.status]
        self.fields["to_status"].choices = [
            (value, label) for value, label in ArcStatus.choices if value in allowed
        ]

    def clean(self):
        cleaned = super().clean()
        if (
            cleaned.get("to_status") == ArcStatus.DISCONTINUED
            and not cleaned.get("reason", "").strip()
        ):
            self.add_error("reason", _("Give the reason for discontinuing the arc."))
        return cleaned


class MeasurementForm(forms.ModelForm):
    class Meta:
        model = Measurement
        fields = ["measure", "value", "measured_on"]
        widgets = {"measured_on": DateInput()}


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}))
    visibility = forms.ChoiceField(
        label=_("Who can read it"), choices=NoteVisibility.choices, widget=forms.RadioSelect
    )


class OutcomeMeasureForm(forms.ModelForm):
    class Meta:
        model = OutcomeMeasure
        fields = ["name", "slug", "unit", "direction", "loinc_code"]


class AccessLogFilterForm(forms.Form):
    member = forms.IntegerField(
        label=_("Member number"), required=False, min_value=1, max_value=MAX_INT
    )
    user = forms.EmailField(label=_("User's email"), required=False)
