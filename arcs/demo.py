"""Demo arcs: every status across disciplines, months of measures and notes, some stalled
or overdue, and open consultations. Idempotent: an arc is looked up by member and title."""

import datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from arcs import services
from arcs.models import Arc, ArcStatus, NoteVisibility, OutcomeMeasure
from careteam.demo import MEMBERS_WITH_TEAMS, demo_member_emails, team_emails
from careteam.models import Discipline, Practitioner
from careteam.services import consultation_request
from members.models import Member

# title, endpoint, lead discipline, (measure, baseline, target), intervention, frequency
PLANS = {
    "clinician@demo.coop": (
        gettext_lazy("Walk to the market without knee pain"),
        gettext_lazy(
            "Walk the 2 km to the market and back without stopping, with little knee pain."
        ),
        "physical-therapy",
        [("pain-score", "7", "2"), ("walking-distance", "300", "2000")],
        gettext_lazy("Knee strengthening exercises"),
        gettext_lazy("Twice a week"),
    ),
    "acupuncture@demo.coop": (
        gettext_lazy("Fewer migraine days"),
        gettext_lazy("Migraines rare enough to work a full week."),
        "acupuncture",
        [("pain-score", "8", "3")],
        gettext_lazy("Acupuncture sessions"),
        gettext_lazy("Weekly"),
    ),
    "chiropractic@demo.coop": (
        gettext_lazy("Back pain under control"),
        gettext_lazy("Lift the grandchildren without back pain."),
        "chiropractic",
        [("pain-score", "6", "2")],
        gettext_lazy("Spinal care and home exercises"),
        gettext_lazy("Every two weeks"),
    ),
    "nutrition@demo.coop": (
        gettext_lazy("Steady blood sugar"),
        gettext_lazy("Blood sugar in the healthy range through food, without new medicines."),
        "nutrition",
        [("hba1c", "64", "53"), ("weight", "98", "90")],
        gettext_lazy("Cooking and meal planning sessions"),
        gettext_lazy("Monthly"),
    ),
    "behavioural@demo.coop": (
        gettext_lazy("Calmer days"),
        gettext_lazy("Sleep through most nights and go back to the choir."),
        "behavioural-health",
        [("gad-7", "15", "5"), ("phq-9", "14", "5")],
        gettext_lazy("Talking therapy"),
        gettext_lazy("Weekly"),
    ),
}
# The status each demo arc ends up in, by member position: every status appears.
STATUS_CYCLE = [
    ArcStatus.ACTIVE,
    ArcStatus.ACTIVE,
    ArcStatus.ON_HOLD,
    ArcStatus.ACHIEVED,
    ArcStatus.DISCONTINUED,
    ArcStatus.ACTIVE,
    ArcStatus.DRAFT,
]


# The starting outcome measures (arcs 0002) as the demo shows them in its language.
MEASURE_NAMES = {
    "pain-score": ("Pain score", gettext_lazy("Pain score")),
    "weight": ("Weight", gettext_lazy("Weight")),
    "systolic-blood-pressure": (
        "Blood pressure (systolic)",
        gettext_lazy("Blood pressure (systolic)"),
    ),
    "walking-distance": ("Walking distance", gettext_lazy("Walking distance")),
}


def seed() -> None:
    # Renamed only while they still have their starting English names.
    for slug, (english, name) in MEASURE_NAMES.items():
        OutcomeMeasure.objects.filter(slug=slug, name=english).update(name=str(name))
    today = timezone.localdate()
    practitioners = {
        p.user.email: p for p in Practitioner.objects.select_related("user", "discipline")
    }
    if "hub@demo.coop" not in practitioners:
        return
    hub = practitioners["hub@demo.coop"]
    doctor = practitioners["doctor@demo.coop"]
    measures = {m.slug: m for m in OutcomeMeasure.objects.all()}
    disciplines = {d.slug: d for d in Discipline.objects.all()}
    members = {
        m.user.email: m
        for m in Member.objects.select_related("user").filter(user__email__in=demo_member_emails())
    }
    for index, email in enumerate(demo_member_emails()[:MEMBERS_WITH_TEAMS]):
        member = members.get(email)
        if member is None:
            continue
        specialist = practitioners[team_emails(email, index)[-1]]
        if email == "member2@demo.coop":
            specialist = practitioners["nutrition@demo.coop"]
        status = STATUS_CYCLE[index % len(STATUS_CYCLE)]
        if email in ("member@demo.coop", "member2@demo.coop"):
            status = ArcStatus.ACTIVE
        _seed_arc(
            member=member,
            plan=PLANS[specialist.user.email],
            specialist=specialist,
            doctor=doctor,
            hub=hub,
            status=status,
            index=index,
            today=today,
            measures=measures,
            disciplines=disciplines,
        )


def _seed_arc(
    *, member, plan, specialist, doctor, hub, status, index, today, measures, disciplines
):
    title, endpoint, lead, goals, intervention, frequency = plan
    # The texts are lazy (translated in the demo's language): make them plain strings.
    title, endpoint, intervention, frequency = map(str, (title, endpoint, intervention, frequency))
    if Arc.objects.filter(member=member, title=title).exists():
        return
    began = today - datetime.timedelta(days=150)
    arc = services.arc_create(
        member=member,
        title=title,
        endpoint=endpoint,
        lead_discipline=disciplines[lead],
        review_every_days=28,
        by=specialist.user,
    )
    # The arc began (as a draft) before its first measure: measures cannot predate the arc.
    Arc.objects.filter(pk=arc.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=(today - began).days + 7)
    )
    for slug, baseline, target in goals:
        measure = measures[slug]
        services.goal_save(
            arc=arc,
            by=specialist.user,
            measure=measure,
            description=_("%(measure)s from %(baseline)s to %(target)s")
            % {"measure": measure.name, "baseline": baseline, "target": target},
            baseline=Decimal(baseline),
            target=Decimal(target),
            target_date=today + datetime.timedelta(days=90),
        )
    services.phase_save(
        arc=arc,
        by=hub.user,
        name=_("Getting started"),
        planned_start=began,
        planned_end=began + datetime.timedelta(days=60),
    )
    services.phase_save(
        arc=arc,
        by=hub.user,
        name=_("Building up"),
        planned_start=began + datetime.timedelta(days=61),
        planned_end=today + datetime.timedelta(days=90),
    )
    services.intervention_save(
        arc=arc,
        by=specialist.user,
        description=intervention,
        discipline=specialist.discipline,
        practitioner=specialist,
        frequency=frequency,
        starts_on=began,
        ends_on=None,
    )
    services.intervention_save(
        arc=arc,
        by=hub.user,
        description=_("Check-in with the hub coordinator"),
        discipline=hub.discipline,
        practitioner=hub,
        frequency=_("Monthly"),
        starts_on=began,
        ends_on=None,
    )
    if index % 2 == 0:
        # Plans change: one intervention stopped early stays in the plan's history.
        dropped = services.intervention_save(
            arc=arc,
            by=specialist.user,
            description=_("Group exercise class"),
            discipline=specialist.discipline,
            practitioner=specialist,
            frequency=_("Weekly"),
            starts_on=began,
            ends_on=None,
        )
        services.intervention_remove(
            arc=arc,
            intervention=dropped,
            by=specialist.user,
            reason=_("The member preferred one-to-one sessions."),
        )
    if status == ArcStatus.DRAFT:
        return
    arc = services.arc_transition(arc=arc, to_status=ArcStatus.ACTIVE, by=hub.user)
    # Five months of measures, moving from baseline toward target with some ups and downs.
    for slug, baseline, target in goals:
        start, end = Decimal(baseline), Decimal(target)
        for step in range(6):
            wiggle = Decimal((step * 7 + index) % 3 - 1) * (start - end) / 20
            value = start + (end - start) * Decimal(step) / 7 + wiggle
            services.measurement_record(
                arc=arc,
                measure=measures[slug],
                value=value.quantize(Decimal("0.1")),
                measured_on=began + datetime.timedelta(days=25 * step),
                by=specialist.user,
            )
    services.note_add(
        arc=arc,
        text=_("Good progress this month; keep doing the home exercises every day."),
        visibility=NoteVisibility.SHARED,
        by=specialist.user,
    )
    services.note_add(
        arc=arc,
        text=_("Discussed with the team: watch adherence, consider fewer sessions if it slips."),
        visibility=NoteVisibility.INTERNAL,
        by=hub.user,
    )
    if status == ArcStatus.ON_HOLD or status == ArcStatus.ACHIEVED:
        services.arc_transition(arc=arc, to_status=status, by=hub.user)
    elif status == ArcStatus.DISCONTINUED:
        services.arc_transition(
            arc=arc, to_status=status, by=hub.user, reason=_("The member moved away.")
        )
    elif index % 3 == 0:
        consultation_request(
            arc=arc,
            requested_by=specialist,
            to_discipline=doctor.discipline,
            to_practitioner=doctor,
            question=_("Could the current medicines explain the slower progress?"),
        )
    # Back-date the arc's life so the dashboard has overdue, stalled and past outcomes.
    updates = {"activated_on": began}
    if status in (ArcStatus.ACHIEVED, ArcStatus.DISCONTINUED):
        updates["closed_on"] = today - datetime.timedelta(days=10 + 20 * (index % 10))
    if index % 4 == 1:
        updates["next_review_on"] = today - datetime.timedelta(days=5 + index)
    if index % 5 == 2 and status == ArcStatus.ACTIVE:
        updates["last_activity_at"] = timezone.now() - datetime.timedelta(days=45 + index)
    Arc.objects.filter(pk=arc.pk).update(**updates)
