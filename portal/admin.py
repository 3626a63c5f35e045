"""The audit log in admin: read-only, and for system admins only (department admins never see it)."""

from auditlog.admin import LogEntryAdmin
from auditlog.models import LogEntry
from django.contrib import admin


class SystemAdminLogEntryAdmin(LogEntryAdmin):
    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


admin.site.unregister(LogEntry)
admin.site.register(LogEntry, SystemAdminLogEntryAdmin)
