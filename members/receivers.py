from allauth.account.models import EmailAddress
from allauth.account.signals import password_reset
from django.dispatch import receiver


@receiver(password_reset)
def verify_email_on_first_password(sender, request, user, **kwargs) -> None:
    """A new member sets their first password from the link mailed to their address.

    Using that link proves they own the address, so it counts as verified; otherwise
    mandatory verification would stop them at their first login.
    """
    addresses = EmailAddress.objects.filter(user=user)
    # Only when the link can have gone to no other address than the account's one.
    if addresses.count() == 1:
        addresses.filter(email__iexact=user.email, verified=False).update(verified=True)
