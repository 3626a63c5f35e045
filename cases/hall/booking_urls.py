"""/appointments/: book a visit to a service centre, see and cancel it (cases/hall/booking_views.py)."""

from django.urls import path

from . import booking_views

app_name = "hall-booking"

urlpatterns = [
    path("", booking_views.mine_page, name="mine"),
    path("book/<str:code>/", booking_views.book_page, name="book"),
    path("<int:appointment_id>/", booking_views.detail_page, name="detail"),
    path("<int:appointment_id>/cancel/", booking_views.cancel_view, name="cancel"),
]
