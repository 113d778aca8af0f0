from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Discipline(models.Model):
    """A clinical discipline; the clinic can add its own to the ones it starts with."""

    slug = models.SlugField(unique=True)
    name = models.CharField(_("name"), max_length=100, unique=True)

    class Meta:
        verbose_name = _("discipline")
        verbose_name_plural = _("disciplines")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Practitioner(models.Model):
    """A salaried practitioner of one discipline (a clinician, or the hub coordinator)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="practitioner"
    )
    discipline = models.ForeignKey(
        Discipline, on_delete=models.PROTECT, related_name="practitioners"
    )
    registration_number = models.CharField(
        _("professional registration number"), max_length=64, blank=True
    )
    taking_new_members = models.BooleanField(_("taking new members"), default=True)

    class Meta:
        verbose_name = _("practitioner")
        verbose_name_plural = _("practitioners")

    def __str__(self) -> str:
        return f"{self.user} ({self.discipline})"
