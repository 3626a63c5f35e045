"""The service hall's pages under /hall/ (the queue here; booking pages join this module)."""

from django.urls import path

from . import queue_views

app_name = "hall"

urlpatterns = [
    path("tickets/<str:token>/", queue_views.ticket_page, name="ticket"),
    path("<slug:centre>/kiosk/", queue_views.kiosk, name="kiosk"),
    path("<slug:centre>/desk/", queue_views.desk, name="desk"),
    path("<slug:centre>/display/", queue_views.display, name="display"),
]
