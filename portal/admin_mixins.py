"""Mixins shared by the apps' admin classes: permissions, scoping and what a form may ask."""

from django.contrib.admin.options import InlineModelAdmin
from django.http import Http404


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


class HiddenAnswersNotFoundMixin:
    """The change, delete and history pages of a row outside the admin's scoped queryset answer
    404, as every view does for what a user may not see (DESIGN "Data protection"). Django would
    redirect to the index saying the object "does not exist"; this overrides the one method that
    builds that answer."""

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404


# Columns the database fills when a row is created (db_default=Now()); nobody types them.
CREATION_TIME_FIELDS = ("created_at", "date_joined")


class CreationTimesNotAskedMixin:
    """Creation times are never asked: a model admin shows them read-only on the change page and
    leaves them out of the add page; an inline leaves them out (its empty rows have none yet)."""

    def _creation_fields(self) -> tuple[str, ...]:
        names = {field.name for field in self.model._meta.fields}
        return tuple(name for name in CREATION_TIME_FIELDS if name in names)

    def _shows_creation_times(self, obj) -> bool:
        # For an inline, `obj` is the parent.
        return obj is not None and not isinstance(self, InlineModelAdmin)

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        if not self._shows_creation_times(obj):
            return readonly
        return readonly + tuple(name for name in self._creation_fields() if name not in readonly)

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if self._shows_creation_times(obj):
            return fields
        return [name for name in fields if name not in self._creation_fields()]

    def get_exclude(self, request, obj=None):
        exclude = tuple(super().get_exclude(request, obj) or ())
        if self._shows_creation_times(obj):
            return exclude or None
        return exclude + self._creation_fields()
