from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class ClinicConfig(AppConfig):
    default = True
    name = "clinic"
    verbose_name = _("Clinic")

    def ready(self) -> None:
        from clinic import signals  # noqa: F401 (connects the receivers)


class ClinicAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "clinic.admin_site.SuperuserAdminSite"
