from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from portal.admin_mixins import ReadOnlyAdminMixin

from .models import (
    CitizenProfile,
    Department,
    Organisation,
    OrganisationAgent,
    PersonalDataAccess,
    StaffMembership,
    User,
)
from .permissions import departments_administered_by


class CitizenProfileInline(admin.StackedInline):
    model = CitizenProfile
    can_delete = False
    fields = ("real_name", "masked_id", "masked_phone_number", "registered_at_counter")
    readonly_fields = fields
    verbose_name_plural = _("citizen profile")

    @admin.display(description=_("ID number"))
    def masked_id(self, obj: CitizenProfile) -> str:
        return obj.masked_id_number

    @admin.display(description=_("mobile phone"))
    def masked_phone_number(self, obj: CitizenProfile) -> str:
        return obj.masked_phone

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class StaffMembershipInline(admin.TabularInline):
    model = StaffMembership
    extra = 0
    autocomplete_fields = ("department",)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [CitizenProfileInline, StaffMembershipInline]
    list_display = ("username", "first_name", "email", "is_staff", "is_active", "last_login")
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Preferences"), {"fields": ("preferred_language", "elder_mode")}),
    )


@admin.register(CitizenProfile)
class CitizenProfileAdmin(admin.ModelAdmin):
    list_display = (
        "real_name",
        "masked_id_number",
        "masked_phone",
        "user",
        "registered_at_counter",
    )
    list_select_related = ("user",)
    fields = ("user", "real_name", "masked_id_number", "masked_phone", "registered_at_counter")
    readonly_fields = fields
    search_fields = ("real_name",)

    def has_add_permission(self, request) -> bool:
        # People are registered through the registration page or the counter, which validate and hash.
        return False


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "parent", "is_active")
    list_filter = ("kind", "is_active")
    list_select_related = ("parent",)
    search_fields = ("code", "name", "name_en")
    autocomplete_fields = ("parent",)


@admin.register(StaffMembership)
class StaffMembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "department", "role")
    list_filter = ("role",)
    list_select_related = ("user", "department")
    search_fields = ("user__username", "department__name")
    autocomplete_fields = ("user", "department")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(department__in=departments_administered_by(request.user))
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "department":
            kwargs["queryset"] = departments_administered_by(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class OrganisationAgentInline(admin.TabularInline):
    model = OrganisationAgent
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "uscc", "legal_representative")
    search_fields = ("name", "uscc")
    inlines = [OrganisationAgentInline]


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "viewer", "profile", "field", "purpose")
    list_select_related = ("viewer", "profile")
    date_hierarchy = "at"
