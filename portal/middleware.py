"""Portal-wide middleware: the signed-in user's language, and no caching of personal pages."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


class UserLanguageMiddleware:
    """Pages speak Simplified Chinese unless the person chose English.

    Runs before LocaleMiddleware and decides what it reads from the language cookie slot: the choice
    made with the language switch, else the signed-in account's preference (so it follows the person
    from device to device), else Simplified Chinese. A browser's Accept-Language alone does not
    switch a page to English ("Simplified Chinese first"); API clients, which are programs, may ask
    for English with it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
            session = getattr(request, "session", None)
            language = session.get("preferred_language") if session is not None else None
            if language:
                request.COOKIES[settings.LANGUAGE_COOKIE_NAME] = language
            elif not request.path.startswith("/api/"):
                request.COOKIES[settings.LANGUAGE_COOKIE_NAME] = settings.LANGUAGE_CODE
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
