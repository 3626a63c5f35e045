"""Portal-wide middleware: the signed-in user's language, and no caching of personal pages."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


class UserLanguageMiddleware:
    """Serve a signed-in user in their preferred language unless they just chose another one.

    Runs before LocaleMiddleware: it puts the preference into the language cookie slot that
    LocaleMiddleware reads, so the choice follows the person from device to device.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = (
            request.session.get("preferred_language") if hasattr(request, "session") else None
        )
        if language and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
            request.COOKIES[settings.LANGUAGE_COOKIE_NAME] = language
        return self.get_response(request)


class NoStoreForAuthenticatedMiddleware:
    """Authenticated responses carry personal data: no browser or proxy may keep them (DESIGN)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
            response["Cache-Control"] = "no-store, private"
        return response
