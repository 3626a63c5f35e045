"""Permission mixins shared by the apps' admin classes."""


class ReadOnlyAdminMixin:
    """Records that change only through services (cases, trails, the outbox, access logs)."""

    def has_add_permission(self, request, *args) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class SuperuserEditsMixin:
    """Shared reference data: everyone with view permission reads it, only system admins change it."""

    def has_add_permission(self, request, *args) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser
