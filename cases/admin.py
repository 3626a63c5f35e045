"""Admin for applications: opinion phrases are edited per department; cases and their trail are
read-only here (they change only through the engine), scoped to the admin's departments."""

from django.contrib import admin

from accounts.permissions import departments_administered_by
from portal.admin_mixins import ReadOnlyAdminMixin

from .models import Case, Event, Licence, OpinionPhrase, SharingRequest


class DepartmentScoped:
    department_path = "department"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(**{f"{self.department_path}__in": departments_administered_by(request.user)})
        )


@admin.register(OpinionPhrase)
class OpinionPhraseAdmin(DepartmentScoped, admin.ModelAdmin):
    list_display = ("text", "department", "service", "transition", "order")
    list_filter = ("department", "transition")
    list_select_related = ("department", "service")
    search_fields = ("text",)
    autocomplete_fields = ("service",)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "department":
            kwargs["queryset"] = departments_administered_by(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class EventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Event
    fields = (
        "sequence",
        "action",
        "actor",
        "actor_role",
        "from_state",
        "to_state",
        "opinion",
        "at",
    )
    readonly_fields = fields
    extra = 0


@admin.register(Case)
class CaseAdmin(DepartmentScoped, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("number", "service", "state", "channel", "received_at", "due_date")
    list_filter = ("state", "channel", "department")
    list_select_related = ("service",)
    search_fields = ("number",)
    date_hierarchy = "received_at"
    exclude = ("data",)
    inlines = [EventInline]


@admin.register(Licence)
class LicenceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("number", "licence_type", "valid_from", "valid_until", "revoked_at")
    list_select_related = ("licence_type",)
    search_fields = ("number",)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(licence_type__issuer__in=departments_administered_by(request.user))
        )


@admin.register(SharingRequest)
class SharingRequestAdmin(DepartmentScoped, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The sharing log (共享调用记录) of the admin's departments' registries; never the data."""

    list_display = ("requested_at", "registry", "service", "case", "purpose", "outcome", "channel")
    list_filter = ("registry", "outcome", "purpose", "channel")
    list_select_related = ("service", "case")
    search_fields = ("case__number", "service__code")
    date_hierarchy = "requested_at"
    exclude = ("data",)

    def get_queryset(self, request):
        if request.user.is_superuser:
            return admin.ModelAdmin.get_queryset(self, request)
        return super().get_queryset(request)
