import base64
import hashlib

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.http import HttpRequest


class ClinicAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # People become members by applying to join (members app), which the
        # administrators review; there is no self-service account creation.
        return False


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
