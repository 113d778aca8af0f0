from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ArcsConfig(AppConfig):
    name = "arcs"
    verbose_name = _("Arcs of care")
