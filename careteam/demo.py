import datetime

from django.utils import timezone
from django.utils.translation import gettext_lazy

from careteam.models import CareTeamAssignment, Discipline, Practitioner, TeamRole
from careteam.services import care_team_assign
from clinic.demo import demo_user
from clinic.roles import Role
from members.models import Member

# (email, first name, last name, discipline slug, roles)
PRACTITIONERS = [
    ("doctor@demo.coop", "Dina", "Doctor", "primary-care-medicine", (Role.CLINICIAN,)),
    ("clinician@demo.coop", "Pavel", "Therapist", "physical-therapy", (Role.CLINICIAN,)),
    ("hub@demo.coop", "Hana", "Hub", "nursing", (Role.HUB_COORDINATOR,)),
    ("acupuncture@demo.coop", "Akira", "Needle", "acupuncture", (Role.CLINICIAN,)),
    ("chiropractic@demo.coop", "Carmen", "Spine", "chiropractic", (Role.CLINICIAN,)),
    ("nutrition@demo.coop", "Nora", "Greens", "nutrition", (Role.CLINICIAN,)),
    ("behavioural@demo.coop", "Ben", "Calm", "behavioural-health", (Role.CLINICIAN,)),
]

# The starting disciplines (careteam 0002) as the demo shows them in its language.
DISCIPLINE_NAMES = {
    "primary-care-medicine": ("Primary care medicine", gettext_lazy("Primary care medicine")),
    "physical-therapy": ("Physical therapy", gettext_lazy("Physical therapy")),
    "acupuncture": ("Acupuncture", gettext_lazy("Acupuncture")),
    "chiropractic": ("Chiropractic", gettext_lazy("Chiropractic")),
    "nutrition": ("Nutrition", gettext_lazy("Nutrition")),
    "behavioural-health": ("Behavioural health", gettext_lazy("Behavioural health")),
    "nursing": ("Nursing", gettext_lazy("Nursing")),
}

# Who besides the hub coordinator and the doctor is on each demo member's team, by member
# email. member@ has the physical therapist (the demo clinician); member2@ does not.
SPECIALISTS = [
    "clinician@demo.coop",
    "acupuncture@demo.coop",
    "chiropractic@demo.coop",
    "nutrition@demo.coop",
    "behavioural@demo.coop",
]
TEAMS = {
    "member@demo.coop": ["clinician@demo.coop"],
    "member2@demo.coop": ["nutrition@demo.coop"],
}
# The last demo members have no care team yet: the hub coordinator's to-do list.
MEMBERS_WITH_TEAMS = 38


def demo_member_emails() -> list[str]:
    return ["member@demo.coop"] + [f"member{n}@demo.coop" for n in range(2, 43)]


def team_emails(email: str, index: int) -> list[str]:
    return ["doctor@demo.coop", *TEAMS.get(email, [SPECIALISTS[index % len(SPECIALISTS)]])]


def seed() -> None:
    # Renamed only while they still have their starting English names.
    for slug, (english, name) in DISCIPLINE_NAMES.items():
        Discipline.objects.filter(slug=slug, name=english).update(name=str(name))
    for number, (email, first, last, slug, roles) in enumerate(PRACTITIONERS, start=1):
        user = demo_user(email=email, first_name=first, last_name=last, roles=roles)
        Practitioner.objects.get_or_create(
            user=user,
            defaults={
                "discipline": Discipline.objects.get(slug=slug),
                "registration_number": f"REG-{1000 + number}",
            },
        )
    practitioners = {
        p.user.email: p for p in Practitioner.objects.select_related("user", "discipline")
    }
    hub = practitioners["hub@demo.coop"]
    # Members are created by members/demo.py; any not there yet are simply skipped.
    members = {
        m.user.email: m
        for m in Member.objects.select_related("user").filter(user__email__in=demo_member_emails())
    }
    today = timezone.localdate()
    started = today - datetime.timedelta(days=180)
    for index, email in enumerate(demo_member_emails()[:MEMBERS_WITH_TEAMS]):
        member = members.get(email)
        if member is None:
            continue
        team = CareTeamAssignment.objects.filter(member=member, ended_on__isnull=True)
        if not team.filter(role=TeamRole.HUB_COORDINATOR).exists():
            care_team_assign(
                member=member,
                practitioner=hub,
                role=TeamRole.HUB_COORDINATOR,
                by=hub.user,
                started_on=started,
            )
        for colleague in team_emails(email, index):
            if not team.filter(practitioner=practitioners[colleague]).exists():
                care_team_assign(
                    member=member,
                    practitioner=practitioners[colleague],
                    by=hub.user,
                    started_on=started,
                )
    # A little history: member@ saw the chiropractor before the physical therapist.
    first = members.get("member@demo.coop")
    chiropractor = practitioners["chiropractic@demo.coop"]
    if (
        first
        and not CareTeamAssignment.objects.filter(member=first, practitioner=chiropractor).exists()
    ):
        CareTeamAssignment.objects.create(
            member=first,
            practitioner=chiropractor,
            started_on=today - datetime.timedelta(days=400),
            ended_on=today - datetime.timedelta(days=200),
            assigned_by=hub.user,
        )
