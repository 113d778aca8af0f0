from clinic.demo import demo_user
from clinic.roles import Role


def seed() -> None:
    demo_user(
        email="anchor@demo.coop",
        first_name="Amal",
        last_name="Anchor",
        roles=(Role.ANCHOR_CONTACT,),
    )
