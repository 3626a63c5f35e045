from django.urls import path

from . import views

app_name = "proactive"

urlpatterns = [
    path("", views.offers_page, name="offers"),
    path("<int:offer_id>/<slug:action>/", views.answer, name="answer"),
]
