from django import forms
from django.utils.translation import gettext_lazy as _

from arcs.models import (
    ARC_TRANSITIONS,
    CLOSED_STATUSES,
    Arc,
    ArcStatus,
    Goal,
    Intervention,
    Measurement,
    NoteVisibility,
    OutcomeMeasure,
    Phase,
    ReviewOutcome,
)
from arcs.ucum import validate_ucum_code
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
        from arcs.services import goal_range_errors

        for name, error in goal_range_errors(
            measure=cleaned.get("measure"),
            baseline=cleaned.get("baseline"),
            target=cleaned.get("target"),
        ).items():
            self.add_error(name, error)
        if self.errors:
            return cleaned
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
    """The arc's next status, chosen deliberately: nothing is preselected."""

    to_status = forms.ChoiceField(label=_("New status"))
    reason = forms.CharField(
        label=_("Reason"),
        help_text=_("Kept with the arc's history; required to discontinue."),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, arc: Arc, closing_only: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = ARC_TRANSITIONS[arc.status]
        if closing_only:
            allowed = allowed & CLOSED_STATUSES
        self.fields["to_status"].choices = [("", _("Choose…"))] + [
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


class ReviewForm(forms.Form):
    notes = forms.CharField(
        label=_("What the review found"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept on the review, for the care team."),
    )
    outcome = forms.ChoiceField(
        label=_("What was decided"), choices=ReviewOutcome.choices, widget=forms.RadioSelect
    )


def _measure_label(measure: OutcomeMeasure) -> str:
    return _("%(measure)s, %(low)s to %(high)s") % {
        "measure": str(measure),
        "low": f"{measure.min_value.normalize():f}",
        "high": f"{measure.max_value.normalize():f}",
    }


class MeasurementForm(forms.ModelForm):
    class Meta:
        model = Measurement
        fields = ["measure", "value", "measured_on"]
        widgets = {"measured_on": DateInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["value"].required = True
        self.fields["measure"].queryset = OutcomeMeasure.objects.all()
        self.fields["measure"].label_from_instance = _measure_label

    def clean(self):
        cleaned = super().clean()
        from arcs.services import measurement_value_error

        error = measurement_value_error(measure=cleaned.get("measure"), value=cleaned.get("value"))
        if error:
            self.add_error("value", error)
        return cleaned


class MeasurementCorrectionForm(forms.Form):
    """Correct a value entered in error, or strike it out; either way with the reason."""

    CORRECT, STRIKE_OUT = "correct", "strike_out"
    action = forms.ChoiceField(
        label=_("What to do"),
        choices=[
            (CORRECT, _("Correct the value or date")),
            (STRIKE_OUT, _("Strike it out: it should never have been recorded")),
        ],
        widget=forms.RadioSelect,
    )
    value = forms.DecimalField(
        label=_("Correct value"), required=False, max_digits=10, decimal_places=2
    )
    measured_on = forms.DateField(label=_("Correct date"), required=False, widget=DateInput())
    reason = forms.CharField(label=_("Why"), max_length=200)

    def __init__(self, *args, measurement: Measurement, **kwargs):
        super().__init__(*args, **kwargs)
        self.measurement = measurement
        self.fields["value"].initial = measurement.value
        self.fields["measured_on"].initial = measurement.measured_on
        if measurement.measure.unit:
            self.fields["value"].label = _("Correct value (%(unit)s)") % {
                "unit": measurement.measure.unit
            }

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == self.CORRECT:
            from arcs.services import measurement_value_error

            if cleaned.get("value") is None and "value" not in self.errors:
                self.add_error("value", _("Give the correct value."))
            if cleaned.get("measured_on") is None and "measured_on" not in self.errors:
                self.add_error("measured_on", _("Give the date it was measured."))
            error = measurement_value_error(
                measure=self.measurement.measure, value=cleaned.get("value")
            )
            if error:
                self.add_error("value", error)
        return cleaned


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}))
    visibility = forms.ChoiceField(
        label=_("Who can read it"), choices=NoteVisibility.choices, widget=forms.RadioSelect
    )


class OutcomeMeasureForm(forms.ModelForm):
    """A new outcome measure; its slug is generated from the name."""

    class Meta:
        model = OutcomeMeasure
        fields = ["name", "unit", "ucum_code", "min_value", "max_value", "direction", "loinc_code"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ucum_code"].help_text = _(
            "The unit in UCUM (kg, m, mm[Hg], /min, {score}…); left empty, it is filled in "
            "for the usual units."
        )

    def clean_ucum_code(self):
        code = self.cleaned_data["ucum_code"].strip()
        validate_ucum_code(code)
        return code

    def clean(self):
        cleaned = super().clean()
        low, high = cleaned.get("min_value"), cleaned.get("max_value")
        if low is not None and high is not None and not low < high:
            self.add_error("max_value", _("The highest value must be above the lowest."))
        return cleaned


class AccessLogFilterForm(forms.Form):
    member = forms.IntegerField(
        label=_("Member number"), required=False, min_value=1, max_value=MAX_INT
    )
    user = forms.EmailField(label=_("User's email"), required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput())

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end of the range is before its start."))
        return cleaned
