"""Admin for messages: system admins edit the notification templates (zh-Hans and en per event and
channel); the outbox is read-only, to see what was sent, what waits and why something failed."""

from django.contrib import admin

from .models import Notification, NotificationTemplate


@admin.register(NotificationTemplate)
class NotificationTemplateAdmin(admin.ModelAdmin):
    list_display = ("event", "channel", "language", "subject")
    list_filter = ("event", "channel", "language")
    search_fields = ("subject", "body")

    def has_add_permission(self, request) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "event", "channel", "state", "attempts", "case", "sent_at")
    list_filter = ("state", "channel", "event")
    list_select_related = ("case",)
    date_hierarchy = "created_at"
    exclude = ("context", "address")
    readonly_fields = ("last_error",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.none()
