"""Each person's language: chosen in the header's switcher, remembered in their profile and
applied when they log in.

Django's ``set_language`` view stores the choice in a cookie, which ``LocaleMiddleware``
reads on every request. For someone logged in, ``RememberLanguageMiddleware`` also keeps it
in their profile (a member's ``Member.preferred_language``, which their mail and documents
follow; ``User.preferred_language`` for staff and anchor contacts), and the login signal
sets the cookie from the profile, so the choice follows the person to another device.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import translation

# Set on the request by the login signal; the middleware turns it into the cookie.
LOGIN_LANGUAGE = "_clinic_login_language"


def is_language(code: str) -> bool:
    return code in dict(settings.LANGUAGES)


def user_language(user) -> str:
    """The language ``user`` chose, or the clinic's when they chose none (or one the clinic
    no longer offers)."""
    from members.models import Member

    chosen = (
        Member.objects.filter(user=user).values_list("preferred_language", flat=True).first()
        or user.preferred_language
    )
    return chosen if chosen and is_language(chosen) else settings.LANGUAGE_CODE


def user_language_remember(*, user, language: str) -> None:
    """Keep ``language`` in ``user``'s profile: on their member record when they are a member
    (their mail and documents then follow it too), on their account otherwise."""
    from members.models import Member
    from members.services import member_language_set

    if not is_language(language):
        return
    member = Member.objects.filter(user=user).first()
    if member is not None:
        member_language_set(member=member, language=language)
    elif user.preferred_language != language:
        user.preferred_language = language
        user.save(update_fields=["preferred_language"])


def apply_at_login(request: HttpRequest, user) -> None:
    """The person's remembered language becomes this browser's language from this login on."""
    language = user_language(user)
    translation.activate(language)
    request.LANGUAGE_CODE = language
    setattr(request, LOGIN_LANGUAGE, language)


def _set_cookie(response: HttpResponse, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


class RememberLanguageMiddleware:
    """Writes a logged-in person's switch of language to their profile, and sets the
    language cookie at login. Costs no query on other requests."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        login_language = getattr(request, LOGIN_LANGUAGE, None)
        if login_language:
            _set_cookie(response, login_language)
        elif (
            request.method == "POST"
            and request.path == reverse("set_language")
            and request.user.is_authenticated
        ):
            cookie = response.cookies.get(settings.LANGUAGE_COOKIE_NAME)
            if cookie is not None and cookie.value:
                user_language_remember(user=request.user, language=cookie.value)
        return response
