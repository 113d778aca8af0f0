"""Account events that reach beyond one request."""

import time

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver


@receiver(user_logged_out)
def end_every_session_on_logout(sender, request, user, **kwargs) -> None:
    # Logging out on one device logs out everywhere: a shared or lost device keeps nothing.
    if user is not None:
        user.end_all_sessions()


@receiver(user_logged_in)
def start_session_clock(sender, request, user, **kwargs) -> None:
    from clinic.middleware import SessionPolicyMiddleware

    if request is not None and hasattr(request, "session"):
        now = time.time()
        request.session[SessionPolicyMiddleware.STARTED] = now
        request.session[SessionPolicyMiddleware.SEEN] = now


@receiver(user_logged_in)
def apply_remembered_language(sender, request, user, **kwargs) -> None:
    from clinic.languages import apply_at_login

    if request is not None:
        apply_at_login(request, user)
