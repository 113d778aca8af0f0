import base64
import hashlib

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.http import HttpRequest


class ClinicAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # People become members by applying to join (members app), which the
        # administrators review; there is no self-service account creation.
        return False

    def render_mail(self, template_prefix, email, context, headers=None) -> EmailMessage:
        """allauth's account mail (password reset, email change, ...) with the clinic's
        letterhead: its text body, links made clickable, as the HTML alternative."""
        from django.template.loader import render_to_string

        from clinic.email import letterhead_context

        message = super().render_mail(template_prefix, email, context, headers=headers)
        if isinstance(message, EmailMultiAlternatives) and not message.alternatives:
            html = render_to_string(
                "email/account.html", {**letterhead_context(), "text": message.body}
            )
            message.attach_alternative(html, "text/html")
        return message


class ClinicMFAAdapter(DefaultMFAAdapter):
    """Keeps TOTP secrets and recovery-code seeds encrypted in the database.

    Keys come from CLINIC_MFA_ENCRYPTION_KEYS (the first encrypts, all decrypt, so a key
    can be rotated). A value stored before encryption was turned on is read as it is.
    """

    PREFIX = "fernet:"

    def _fernet(self) -> MultiFernet:
        return MultiFernet(
            [
                Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))
                for key in settings.CLINIC_MFA_ENCRYPTION_KEYS
            ]
        )

    def encrypt(self, text: str) -> str:
        return self.PREFIX + self._fernet().encrypt(text.encode()).decode()

    def decrypt(self, encrypted_text: str) -> str:
        if not encrypted_text.startswith(self.PREFIX):
            return encrypted_text
        return self._fernet().decrypt(encrypted_text.removeprefix(self.PREFIX).encode()).decode()
