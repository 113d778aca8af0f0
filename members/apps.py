from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = _("Membership and shares")

    def ready(self) -> None:
        from members import receivers  # noqa: F401 - connects the signal receivers
