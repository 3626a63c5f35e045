from django.urls import path

from . import work_views
from .licences import views as licence_views
from .ratings import views as rating_views
from .sharing import views as sharing_views

app_name = "work"

urlpatterns = [
    path("", work_views.queue, name="queue"),
    path("rectifications/", rating_views.rectifications, name="rectifications"),
    path("verifications/", work_views.verifications, name="verifications"),
    path("human-reviews/", work_views.human_reviews, name="human-reviews"),
    path("human-reviews/<int:review_id>/", work_views.human_review, name="human-review"),
    path("sharing/", sharing_views.sharing_log, name="sharing-log"),
    path("<str:number>/", work_views.case_page, name="case"),
    path("<str:number>/claim/", work_views.claim, name="claim"),
    path("<str:number>/act/", work_views.act, name="act"),
    path("<str:number>/reveal/", work_views.reveal, name="reveal"),
    path("<str:number>/take-over/", work_views.take_over, name="take-over"),
    path("<str:number>/consult/", work_views.consult, name="consult"),
    path("<str:number>/opinion/", work_views.opinion, name="opinion"),
    path("<str:number>/repair/", work_views.repair, name="repair"),
    path(
        "<str:number>/licences/<str:licence_number>/pdf/",
        licence_views.staff_pdf,
        name="licence-pdf",
    ),
    path(
        "<str:number>/licences/<str:licence_number>/revoke/",
        licence_views.staff_revoke,
        name="licence-revoke",
    ),
    path("<str:number>/documents/<int:attachment_id>/", work_views.document, name="document"),
    path("<str:number>/application-form.pdf", work_views.application_form, name="application-form"),
    path(
        "<str:number>/official/<int:document_id>.pdf",
        work_views.official_document,
        name="official-document",
    ),
    path(
        "<str:number>/documents/<int:attachment_id>/preview.png",
        work_views.preview,
        name="preview",
    ),
]
