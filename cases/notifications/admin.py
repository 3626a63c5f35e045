"""Admin for messages: system admins edit the notification templates (zh-Hans and en per event and
channel); the outbox is read-only, to see what was sent, what waits and why something failed."""

from django.contrib import admin

from portal.admin_mixins import ReadOnlyAdminMixin, SuperuserEditsMixin

from ..models import Notification, NotificationTemplate


@admin.register(NotificationTemplate)
class NotificationTemplateAdmin(SuperuserEditsMixin, admin.ModelAdmin):
    list_display = ("event", "channel", "language", "subject")
    list_filter = ("event", "channel", "language")
    search_fields = ("subject", "body")


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "event", "channel", "state", "attempts", "case", "sent_at")
    list_filter = ("state", "channel", "event")
    list_select_related = ("case",)
    date_hierarchy = "created_at"
    exclude = ("context", "address")
    readonly_fields = ("last_error",)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.none()
