from careteam.models import Discipline, Practitioner
from clinic.demo import demo_user
from clinic.roles import Role

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


def seed() -> None:
    for number, (email, first, last, slug, roles) in enumerate(PRACTITIONERS, start=1):
        user = demo_user(email=email, first_name=first, last_name=last, roles=roles)
        Practitioner.objects.get_or_create(
            user=user,
            defaults={
                "discipline": Discipline.objects.get(slug=slug),
                "registration_number": f"REG-{1000 + number}",
            },
        )
