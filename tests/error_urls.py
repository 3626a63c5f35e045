"""The portal's URLs plus two views that fail, to see the error pages as production serves them."""

from django.core.exceptions import PermissionDenied
from django.urls import path

from portal import urls as portal_urls


def broken(request):
    raise RuntimeError("a bug")


def forbidden(request):
    raise PermissionDenied


urlpatterns = [
    path("test-broken/", broken),
    path("api/v1/test-broken/", broken),
    path("test-forbidden/", forbidden),
    *portal_urls.urlpatterns,
]
handler404 = portal_urls.handler404
handler403 = portal_urls.handler403
handler500 = portal_urls.handler500
