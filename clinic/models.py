from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models import F
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields) -> "User":
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields) -> "User":
        extra_fields["is_staff"] = True
        extra_fields["is_superuser"] = True
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """Everyone who logs in: members, clinicians, coordinators, administrators, anchors.

    People log in by email; what they may do comes from their roles (``clinic.roles``).
    """

    username = None
    email = models.EmailField(_("email address"), unique=True)
    # Part of every session's hash: raising it ends all of the person's sessions at once.
    session_generation = models.PositiveIntegerField(default=0, editable=False)
    # The language chosen in the header's switcher by someone who is not a member (a
    # member's choice is Member.preferred_language, which their mail and documents follow).
    # Blank: the clinic's language. Checked against settings.LANGUAGES by clinic.languages.
    preferred_language = models.CharField(_("preferred language"), max_length=10, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    def _get_session_auth_hash(self, secret=None) -> str:
        # Django checks this hash on every request; a session made before the generation
        # was raised (logout, deactivation) no longer matches and is logged out.
        return salted_hmac(
            "clinic.User.session_auth_hash",
            f"{self.password}:{self.session_generation}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def end_all_sessions(self) -> None:
        User.objects.filter(pk=self.pk).update(session_generation=F("session_generation") + 1)
        self.refresh_from_db(fields=["session_generation"])


class WorkerHeartbeat(models.Model):
    """The last time a Celery worker ran the periodic heartbeat, so /healthz can tell."""

    hostname = models.CharField(max_length=255, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.hostname} @ {self.seen_at:%Y-%m-%d %H:%M:%S}"


class TaskOutbox(models.Model):
    """A task that could not be queued because the broker was down, kept until it can be.

    The periodic ``dispatch_task_outbox`` job sends these once the broker is back; tasks
    are idempotent, so a row sent twice after a crash changes nothing.
    """

    task_name = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(dispatched_at__isnull=True),
                name="task_outbox_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.task_name} ({'sent' if self.dispatched_at else 'waiting'})"
