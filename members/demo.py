import datetime

from clinic.demo import demo_person_name, demo_user
from clinic.roles import Role
from members.models import Member, MemberStatus

OTHER_MEMBERS = 40


def seed() -> None:
    people = [("member@demo.coop", "Maria", "Member"), ("member2@demo.coop", "Malik", "Second")]
    for index in range(OTHER_MEMBERS):
        first, last = demo_person_name(index)
        people.append((f"member{index + 3}@demo.coop", first, last))
    for number, (email, first, last) in enumerate(people, start=1):
        user = demo_user(email=email, first_name=first, last_name=last, roles=(Role.MEMBER,))
        Member.objects.get_or_create(
            user=user,
            defaults={
                "number": number,
                "status": MemberStatus.ACTIVE,
                "admitted_on": datetime.date(2025, 1, 1) + datetime.timedelta(days=7 * number),
            },
        )
