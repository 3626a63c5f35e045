from django.urls import path

from . import views

app_name = "designer"

urlpatterns = [
    path("", views.item_list, name="list"),
    path("new/", views.create, name="create"),
    path("licence-types/", views.licence_types, name="licence-types"),
    path("<str:code>/", views.item_page, name="item"),
    path("<str:code>/new-draft/", views.new_draft, name="new-draft"),
    path("<str:code>/guide/", views.guide, name="guide"),
    path("<str:code>/materials/", views.materials, name="materials"),
    path("<str:code>/articles/", views.articles, name="articles"),
    path("<str:code>/form/", views.form_page, name="form"),
    path("<str:code>/form/preview/", views.form_preview, name="form-preview"),
    path("<str:code>/form/preview/frame/", views.form_preview_frame, name="form-preview-frame"),
    path("<str:code>/form/schema/", views.form_schema, name="form-schema"),
    path("<str:code>/form/fields/<slug:name>/", views.field_page, name="field"),
    path(
        "<str:code>/form/fields/<slug:name>/<slug:action>/",
        views.field_action,
        name="field-action",
    ),
    path("<str:code>/workflow/", views.workflow, name="workflow"),
    path("<str:code>/workflow/copy/", views.workflow_copy, name="workflow-copy"),
    path("<str:code>/workflow/stages/", views.stage_save, name="stage-add"),
    path("<str:code>/workflow/stages/<int:stage_id>/", views.stage_save, name="stage"),
    path("<str:code>/workflow/transitions/", views.transition_save, name="transition-add"),
    path(
        "<str:code>/workflow/transitions/<int:transition_id>/",
        views.transition_save,
        name="transition",
    ),
    path(
        "<str:code>/workflow/<str:kind>/<int:obj_id>/remove/",
        views.workflow_remove,
        name="workflow-remove",
    ),
    path("<str:code>/maintainers/", views.maintainers, name="maintainers"),
    path("<str:code>/publish/", views.publish, name="publish"),
    path("<str:code>/retention/", views.retention, name="retention"),
    path("<str:code>/auto-approval/", views.auto_approval, name="auto-approval"),
    path("<str:code>/retire/", views.retire, name="retire"),
]
