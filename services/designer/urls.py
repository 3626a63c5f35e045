from django.urls import path

from . import views

app_name = "designer"

urlpatterns = [
    path("", views.item_list, name="list"),
    path("new/", views.create, name="create"),
    path("<str:code>/", views.item_page, name="item"),
    path("<str:code>/new-draft/", views.new_draft, name="new-draft"),
    path("<str:code>/guide/", views.guide, name="guide"),
    path("<str:code>/materials/", views.materials, name="materials"),
    path("<str:code>/publish/", views.publish, name="publish"),
    path("<str:code>/retire/", views.retire, name="retire"),
]
