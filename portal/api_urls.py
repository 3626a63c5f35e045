"""Everything under /api/v1/ (DESIGN "API")."""

from django.urls import path

from accounts import api as accounts_api
from accounts import closure_views
from cases import access_log_views, work_api
from cases import api as cases_api
from cases.automation import api as automation_api
from cases.bundles import api as bundle_api
from cases.counter import api as counter_api
from cases.hall import booking_api
from cases.hall import queue_api as hall_queue_api
from cases.licences import api as licence_api
from cases.notifications import inbox
from cases.payments import api as payment_api
from cases.proactive import api as proactive_api
from cases.ratings import api as rating_api
from cases.sharing import api as sharing_api
from cases.transparency import stats_views, tracking
from portal.db_router import reads_from_replica
from services import api as services_api
from services import bundle_api as bundle_catalog_api
from services import manage_api

urlpatterns = [
    path("auth/register/", accounts_api.RegisterView.as_view(), name="api-register"),
    path("auth/sms-codes/", accounts_api.SmsCodeView.as_view(), name="api-sms-codes"),
    path("auth/token/", accounts_api.TokenView.as_view(), name="api-token"),
    path("auth/token/revoke/", accounts_api.TokenRevokeView.as_view(), name="api-token-revoke"),
    path("me/", accounts_api.MeView.as_view(), name="api-me"),
    path("me/close/", closure_views.CloseAccountView.as_view(), name="api-me-close"),
    path("me/verify/", accounts_api.VerifyView.as_view(), name="api-me-verify"),
    path("me/access-log/", access_log_views.AccessLogView.as_view(), name="api-me-access-log"),
    path(
        "authorisations/",
        accounts_api.AuthorisationListView.as_view(),
        name="api-authorisations",
    ),
    path(
        "authorisations/<int:authorisation_id>/revoke/",
        accounts_api.AuthorisationRevokeView.as_view(),
        name="api-authorisation-revoke",
    ),
    path(
        "services/", reads_from_replica(services_api.ServiceListView.as_view()), name="api-services"
    ),
    path(
        "services/<str:code>/",
        reads_from_replica(services_api.ServiceDetailView.as_view()),
        name="api-service",
    ),
    path(
        "bundles/",
        reads_from_replica(bundle_catalog_api.BundleListView.as_view()),
        name="api-bundles",
    ),
    path(
        "bundles/<str:code>/",
        reads_from_replica(bundle_catalog_api.BundleDetailView.as_view()),
        name="api-bundle",
    ),
    path(
        "bundle-applications/",
        bundle_api.BundleApplicationCreateView.as_view(),
        name="api-bundle-applications",
    ),
    path(
        "bundle-applications/<str:number>/",
        bundle_api.BundleApplicationDetailView.as_view(),
        name="api-bundle-application",
    ),
    path(
        "bundle-applications/<str:number>/attachments/",
        bundle_api.BundleAttachmentCreateView.as_view(),
        name="api-bundle-application-attachments",
    ),
    path(
        "bundle-applications/<str:number>/supplements/attachments/",
        bundle_api.SupplementUploadView.as_view(),
        name="api-bundle-application-supplement-attachments",
    ),
    path(
        "bundle-applications/<str:number>/supplements/answer/",
        bundle_api.SupplementAnswerView.as_view(),
        name="api-bundle-application-supplement-answer",
    ),
    path(
        "bundle-applications/<str:number>/receipt.pdf",
        bundle_api.BundleReceiptView.as_view(),
        name="api-bundle-application-receipt",
    ),
    path(
        "bundle-applications/<str:number>/submit/",
        bundle_api.BundleSubmitView.as_view(),
        name="api-bundle-application-submit",
    ),
    path(
        "departments/",
        reads_from_replica(services_api.DepartmentListView.as_view()),
        name="api-departments",
    ),
    path("applications/", cases_api.ApplicationListCreateView.as_view(), name="api-applications"),
    path(
        "applications/<str:number>/",
        cases_api.ApplicationDetailView.as_view(),
        name="api-application",
    ),
    path(
        "applications/<str:number>/attachments/",
        cases_api.AttachmentCreateView.as_view(),
        name="api-application-attachments",
    ),
    path(
        "applications/<str:number>/commitment/",
        cases_api.CommitmentView.as_view(),
        name="api-application-commitment",
    ),
    path(
        "applications/<str:number>/submit/",
        cases_api.SubmitView.as_view(),
        name="api-application-submit",
    ),
    path(
        "applications/<str:number>/human-review/",
        cases_api.HumanReviewView.as_view(),
        name="api-application-human-review",
    ),
    path(
        "applications/<str:number>/withdraw/",
        cases_api.WithdrawView.as_view(),
        name="api-application-withdraw",
    ),
    path(
        "applications/<str:number>/supplement/",
        cases_api.SupplementView.as_view(),
        name="api-application-supplement",
    ),
    path(
        "applications/<str:number>/rating/",
        rating_api.RatingView.as_view(),
        name="api-application-rating",
    ),
    path(
        "applications/<str:number>/rating/answer/",
        rating_api.RatingAnswerView.as_view(),
        name="api-application-rating-answer",
    ),
    path(
        "applications/<str:number>/payment/",
        payment_api.PaymentView.as_view(),
        name="api-application-payment",
    ),
    path(
        "applications/<str:number>/receipt.pdf",
        cases_api.ReceiptView.as_view(),
        name="api-application-receipt",
    ),
    path(
        "applications/<str:number>/documents/",
        cases_api.DocumentListView.as_view(),
        name="api-application-documents",
    ),
    path(
        "applications/<str:number>/documents/<int:document_id>.pdf",
        cases_api.DocumentPdfView.as_view(),
        name="api-application-document-pdf",
    ),
    path("licences/", licence_api.LicenceListView.as_view(), name="api-licences"),
    path(
        "licences/<str:number>/pdf/",
        cases_api.LicencePdfView.as_view(),
        name="api-licence-pdf",
    ),
    path(
        "manage/services/", manage_api.ManagedServiceListView.as_view(), name="api-manage-services"
    ),
    path(
        "manage/services/<str:code>/export/",
        manage_api.ExportView.as_view(),
        name="api-manage-service-export",
    ),
    path(
        "manage/services/<str:code>/changes/",
        manage_api.ChangesView.as_view(),
        name="api-manage-service-changes",
    ),
    path(
        "manage/services/<str:code>/publish/",
        manage_api.PublishView.as_view(),
        name="api-manage-service-publish",
    ),
    path(
        "manage/services/<str:code>/retire/",
        manage_api.RetireView.as_view(),
        name="api-manage-service-retire",
    ),
    path("work/queue/", work_api.QueueView.as_view(), name="api-work-queue"),
    path(
        "work/human-reviews/",
        automation_api.HumanReviewListView.as_view(),
        name="api-work-human-reviews",
    ),
    path(
        "work/human-reviews/<int:review_id>/decide/",
        automation_api.HumanReviewDecideView.as_view(),
        name="api-work-human-review-decide",
    ),
    path(
        "work/licences/<str:number>/revoke/",
        licence_api.RevokeView.as_view(),
        name="api-work-licence-revoke",
    ),
    path(
        "work/rectifications/",
        rating_api.RectificationListView.as_view(),
        name="api-work-rectifications",
    ),
    path(
        "work/rectifications/<int:rectification_id>/answer/",
        rating_api.RectificationAnswerView.as_view(),
        name="api-work-rectification-answer",
    ),
    path(
        "work/sharing-requests/",
        sharing_api.SharingRequestListView.as_view(),
        name="api-work-sharing-requests",
    ),
    path("work/cases/<str:number>/", work_api.WorkCaseView.as_view(), name="api-work-case"),
    path("work/cases/<str:number>/claim/", work_api.ClaimView.as_view(), name="api-work-claim"),
    path("work/cases/<str:number>/reveal/", work_api.RevealView.as_view(), name="api-work-reveal"),
    path(
        "work/cases/<str:number>/documents/<int:document_id>.pdf",
        work_api.WorkDocumentPdfView.as_view(),
        name="api-work-document-pdf",
    ),
    path(
        "work/cases/<str:number>/transition/",
        work_api.TransitionView.as_view(),
        name="api-work-transition",
    ),
    path(
        "work/cases/<str:number>/take-over/",
        work_api.TakeOverView.as_view(),
        name="api-work-take-over",
    ),
    path(
        "work/cases/<str:number>/consult/", work_api.ConsultView.as_view(), name="api-work-consult"
    ),
    path(
        "work/cases/<str:number>/opinion/", work_api.OpinionView.as_view(), name="api-work-opinion"
    ),
    path("work/cases/<str:number>/repair/", work_api.RepairView.as_view(), name="api-work-repair"),
    path("notifications/", inbox.NotificationListView.as_view(), name="api-notifications"),
    # 免申即享: my offers, confirm with one click, decline, opt out of a grant.
    path("offers/", proactive_api.OfferListView.as_view(), name="api-offers"),
    path(
        "offers/<int:offer_id>/confirm/",
        proactive_api.OfferConfirmView.as_view(),
        name="api-offer-confirm",
    ),
    path(
        "offers/<int:offer_id>/decline/",
        proactive_api.OfferDeclineView.as_view(),
        name="api-offer-decline",
    ),
    path(
        "offers/<int:offer_id>/opt-out/",
        proactive_api.OfferOptOutView.as_view(),
        name="api-offer-opt-out",
    ),
    path(
        "notifications/<int:notification_id>/read/",
        inbox.NotificationReadView.as_view(),
        name="api-notification-read",
    ),
    # 预约到厅办理: the day's times, book (a proxy names the principal), mine, cancel.
    path("appointments/slots/", booking_api.SlotListView.as_view(), name="api-appointment-slots"),
    path(
        "appointments/",
        booking_api.AppointmentListCreateView.as_view(),
        name="api-appointments",
    ),
    path(
        "appointments/<int:appointment_id>/cancel/",
        booking_api.AppointmentCancelView.as_view(),
        name="api-appointment-cancel",
    ),
    path("counter/citizens/lookup/", counter_api.LookupView.as_view(), name="api-counter-lookup"),
    path(
        "counter/applications/",
        counter_api.CounterApplicationView.as_view(),
        name="api-counter-applications",
    ),
    # The service hall's queue (cases.hall.queue_api).
    path("hall/tickets/", hall_queue_api.TicketCreateView.as_view(), name="api-hall-tickets"),
    path(
        "hall/tickets/<str:token>/",
        hall_queue_api.TicketDetailView.as_view(),
        name="api-hall-ticket",
    ),
    path(
        "hall/centres/<slug:code>/display/",
        hall_queue_api.DisplayView.as_view(),
        name="api-hall-display",
    ),
    path(
        "hall/windows/<int:window_id>/", hall_queue_api.WindowView.as_view(), name="api-hall-window"
    ),
    path(
        "hall/windows/<int:window_id>/call-next/",
        hall_queue_api.CallNextView.as_view(),
        name="api-hall-window-call-next",
    ),
    path(
        "hall/windows/<int:window_id>/recall/",
        hall_queue_api.RecallView.as_view(),
        name="api-hall-window-recall",
    ),
    path(
        "hall/windows/<int:window_id>/no-show/",
        hall_queue_api.NoShowView.as_view(),
        name="api-hall-window-no-show",
    ),
    path(
        "hall/windows/<int:window_id>/start/",
        hall_queue_api.StartView.as_view(),
        name="api-hall-window-start",
    ),
    path(
        "hall/windows/<int:window_id>/finish/",
        hall_queue_api.FinishView.as_view(),
        name="api-hall-window-finish",
    ),
    path(
        "counter/bundle-applications/",
        counter_api.CounterBundleView.as_view(),
        name="api-counter-bundle-applications",
    ),
    path("track/", tracking.TrackView.as_view(), name="api-track"),
    path("stats/", reads_from_replica(stats_views.StatsView.as_view()), name="api-stats"),
]
