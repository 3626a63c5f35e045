"""Django admin for accounts and departments.

A system admin sees everything. A department admin sees only the staff accounts of the departments
they administer (never a citizen's), grants and revokes the roles that work cases there, and
creates a colleague's account together with its first role; the rules are in accounts.permissions
and every grant goes through accounts.services.
"""

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _

from portal.admin_mixins import (
    CreationTimesNotAskedMixin,
    HiddenAnswersNotFoundMixin,
    ReadOnlyAdminMixin,
)

from . import second_factor, services
from .crypto import lookup_hash
from .models import (
    CitizenProfile,
    Department,
    EnrolmentCode,
    Organisation,
    OrganisationAgent,
    PersonalDataAccess,
    Role,
    StaffMembership,
    User,
)
from .permissions import (
    departments_administered_by,
    grantable_roles_message,
    may_change_account,
    may_revoke_role,
    role_grant_problems,
    roles_grantable_by,
    staff_managed_by,
)


def _limit_role_choices(form: forms.Form, actor: User) -> None:
    """Offer only the roles and departments `actor` may grant; a forged value's error says which."""
    if "role" in form.fields:
        field = form.fields["role"]
        grantable = roles_grantable_by(actor)
        field.choices = [(value, label) for value, label in Role.choices if value in grantable]
        field.error_messages["invalid_choice"] = grantable_roles_message(actor)
    if "department" in form.fields:
        field = form.fields["department"]
        field.queryset = departments_administered_by(actor)
        field.error_messages["invalid_choice"] = _(
            "You may grant roles only in the departments you administer."
        )


class StaffMembershipForm(forms.ModelForm):
    """A role granted in admin. `actor` (the signed-in admin) is set on the class per request."""

    actor: User

    class Meta:
        model = StaffMembership
        fields = ("user", "department", "role")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _limit_role_choices(self, self.actor)
        if "user" in self.fields and isinstance(self.fields["user"], forms.ModelChoiceField):
            self.fields["user"].queryset = staff_managed_by(self.actor)
            self.fields["user"].error_messages["invalid_choice"] = _(
                "Roles go only to staff accounts of your departments, never to a citizen's "
                "account. For a new colleague, add a user: the account is created with its first "
                "role."
            )

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None:  # granted now; existing roles are only revoked
            problems = role_grant_problems(
                self.actor,
                user=cleaned.get("user"),
                department=cleaned.get("department"),
                role=cleaned.get("role") or "",
            )
            for field, message in problems.items():
                if field not in self.errors:
                    self.add_error(field if field in self.fields else None, message)
        return cleaned


class StaffMembershipFormSet(BaseInlineFormSet):
    actor: User

    def clean(self):
        super().clean()
        for form in self.deleted_forms:
            if form.instance.pk and not may_revoke_role(self.actor, form.instance):
                raise ValidationError(
                    _("You may not revoke the role %(membership)s.") % {"membership": form.instance}
                )


def _with_actor(form_class, request):
    """The admin builds a new form class per request; it carries the signed-in admin."""
    form_class.actor = request.user
    return form_class


class CitizenProfileInline(admin.StackedInline):
    """Shown to system admins only: a department admin never sees a person's real-name data."""

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
    """Roles are granted (a new row) and revoked (deleted), never edited in place."""

    model = StaffMembership
    form = StaffMembershipForm
    formset = StaffMembershipFormSet
    fields = ("department", "role")
    extra = 0

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(department__in=departments_administered_by(request.user))
            .select_related("department")
        )

    def get_autocomplete_fields(self, request):
        # A department admin picks among their own departments; a system admin searches them all.
        return ("department",) if request.user.is_superuser else ()

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        _with_actor(formset.form, request)
        return _with_actor(formset, request)

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class StaffAccountCreationForm(AdminUserCreationForm):
    """A department admin's new colleague: the account and its first role, saved together."""

    department = forms.ModelChoiceField(queryset=Department.objects.none(), label=_("department"))
    role = forms.ChoiceField(label=_("role"))
    actor: User

    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username", "first_name", "email")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _limit_role_choices(self, self.actor)

    def clean(self):
        cleaned = super().clean()
        problems = role_grant_problems(
            self.actor,
            user=None,
            department=cleaned.get("department"),
            role=cleaned.get("role") or "",
        )
        for field, message in problems.items():
            if field not in self.errors:
                self.add_error(field, message)
        return cleaned


@admin.register(User)
class UserAdmin(HiddenAnswersNotFoundMixin, BaseUserAdmin):
    inlines = [CitizenProfileInline, StaffMembershipInline]
    actions = ["issue_enrolment_codes"]
    list_display = ("username", "first_name", "email", "is_staff", "is_active", "last_login")
    # E-mail addresses are encrypted: an address typed in the search box is matched exactly, by
    # its keyed hash (get_search_results), not by a substring.
    search_fields = ("username", "first_name", "last_name")
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Preferences"), {"fields": ("preferred_language", "elder_mode")}),
    )
    # What a department admin changes on a colleague's account: never the admin-site flags,
    # groups or permissions (those are a system admin's).
    staff_fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (_("Permissions"), {"fields": ("is_active",)}),
        (_("Preferences"), {"fields": ("preferred_language", "elder_mode")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    staff_add_fieldsets = (
        (None, {"fields": ("username", "usable_password", "password1", "password2")}),
        (_("Personal info"), {"fields": ("first_name", "email")}),
        (_("First role"), {"fields": ("department", "role")}),
    )

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(pk__in=staff_managed_by(request.user).values("pk"))

    def get_list_filter(self, request):
        return self.list_filter if request.user.is_superuser else ("is_active",)

    def get_search_results(self, request, queryset, search_term):
        found, duplicates = super().get_search_results(request, queryset, search_term)
        if "@" in search_term:
            found |= queryset.filter(email_hash=lookup_hash(search_term))
        return found, duplicates

    def get_fieldsets(self, request, obj=None):
        if request.user.is_superuser:
            return super().get_fieldsets(request, obj)
        if obj is None:
            return self.staff_add_fieldsets
        if not may_change_account(request.user, obj):
            # View-only: no "reset password" button that would answer 403.
            return ((None, {"fields": ("username",)}), *self.staff_fieldsets[1:])
        return self.staff_fieldsets

    def get_form(self, request, obj=None, **kwargs):
        if obj is None and not request.user.is_superuser:
            kwargs["form"] = StaffAccountCreationForm
        form = super().get_form(request, obj, **kwargs)
        return _with_actor(form, request) if obj is None else form

    def get_inlines(self, request, obj):
        if request.user.is_superuser:
            return self.inlines
        return [StaffMembershipInline] if obj else []

    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) and (
            obj is None or may_change_account(request.user, obj)
        )

    @admin.action(description=_("Issue an authenticator enrolment code"), permissions=["change"])
    def issue_enrolment_codes(self, request, queryset):
        """One new code per selected staff account, shown on this page only (never stored in
        clear, never put in a message or the session); hand each to its holder in person."""
        issued, skipped = [], []
        for account in queryset.order_by("username"):
            if not second_factor.is_staff_account(account) or not may_change_account(
                request.user, account
            ):
                skipped.append(account)
                continue
            code = second_factor.issue_enrolment_code(user=account, issued_by=request.user)
            issued.append((account, code))
        response = TemplateResponse(
            request,
            "admin/accounts/enrolment_codes.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Authenticator enrolment codes"),
                "issued": issued,
                "skipped": skipped,
                "valid_hours": settings.ENROLMENT_CODE_VALID_HOURS,
                "opts": self.model._meta,
            },
        )
        add_never_cache_headers(response)
        return response

    def save_model(self, request, obj, form, change):
        if change or request.user.is_superuser:
            super().save_model(request, obj, form, change)
            return
        services.create_staff_account(
            actor=request.user,
            account=obj,
            department=form.cleaned_data["department"],
            role=form.cleaned_data["role"],
        )

    def save_formset(self, request, form, formset, change):
        if formset.model is not StaffMembership:
            super().save_formset(request, form, formset, change)
            return
        formset.save(commit=False)
        for membership in formset.deleted_objects:
            services.revoke_role(actor=request.user, membership=membership)
        for membership in formset.new_objects:
            granted = services.grant_role(
                actor=request.user,
                user=form.instance,
                department=membership.department,
                role=membership.role,
            )
            membership.pk = granted.pk


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
    """The tree is a system admin's; a department admin names their own departments' review body
    and court, which every refusal tells the applicant (行政复议法, 行政诉讼法)."""

    list_display = ("code", "name", "kind", "parent", "is_active")
    list_filter = ("kind", "is_active")
    list_select_related = ("parent",)
    search_fields = ("code", "name", "name_en")
    autocomplete_fields = ("parent",)
    fieldsets = (
        (None, {"fields": ("code", ("name", "name_en"), "kind", "parent", "address", "phone",
                           "is_active")}),
        (_("Review and litigation"), {
            "description": _(
                "Named in every refusal with the applicant's rights: administrative review within "
                "60 days, a lawsuit within 6 months. Left empty, the people's government above "
                "the department and the people's court with jurisdiction are named."
            ),
            "fields": (("review_body", "review_body_en"), ("court", "court_en")),
        }),
    )  # fmt: skip
    REVIEW_FIELDS = ("review_body", "review_body_en", "court", "court_en")

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        if request.user.is_superuser or obj is None:
            return readonly
        fixed = [
            name
            for name in flatten_fieldsets(self.fieldsets)
            if name not in self.REVIEW_FIELDS and name not in readonly
        ]
        return (*readonly, *fixed)

    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) and (
            obj is None
            or request.user.is_superuser
            or departments_administered_by(request.user).filter(pk=obj.pk).exists()
        )


@admin.register(StaffMembership)
class StaffMembershipAdmin(
    HiddenAnswersNotFoundMixin, CreationTimesNotAskedMixin, admin.ModelAdmin
):
    """Roles are granted (added) and revoked (deleted), never edited: a change is a new grant."""

    form = StaffMembershipForm
    list_display = ("user", "department", "role", "created_at")
    list_filter = ("role",)
    list_select_related = ("user", "department")
    search_fields = ("user__username", "user__first_name", "department__name")
    fields = ("user", "department", "role", "created_at")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(department__in=departments_administered_by(request.user))
        )

    def get_autocomplete_fields(self, request):
        return ("user", "department") if request.user.is_superuser else ("user",)

    def get_form(self, request, obj=None, **kwargs):
        return _with_actor(super().get_form(request, obj, **kwargs), request)

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and (
            obj is None or may_revoke_role(request.user, obj)
        )

    def save_model(self, request, obj, form, change):
        granted = services.grant_role(
            actor=request.user, user=obj.user, department=obj.department, role=obj.role
        )
        obj.pk = granted.pk

    def delete_model(self, request, obj):
        services.revoke_role(actor=request.user, membership=obj)

    def delete_queryset(self, request, queryset):
        for membership in queryset.select_related("user"):
            services.revoke_role(actor=request.user, membership=membership)


class OrganisationAgentInline(CreationTimesNotAskedMixin, admin.TabularInline):
    model = OrganisationAgent
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Organisation)
class OrganisationAdmin(CreationTimesNotAskedMixin, admin.ModelAdmin):
    list_display = ("name", "uscc", "legal_representative")
    search_fields = ("name", "uscc")
    inlines = [OrganisationAgentInline]


@admin.register(EnrolmentCode)
class EnrolmentCodeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Which codes were issued, by whom, and whether used: never the codes themselves."""

    list_display = ("user", "issued_by", "created_at", "expires_at", "used_at")
    list_select_related = ("user", "issued_by")
    fields = ("user", "issued_by", "created_at", "expires_at", "used_at")

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(user__in=staff_managed_by(request.user))


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "viewer", "profile", "field", "purpose")
    list_select_related = ("viewer", "profile")
    date_hierarchy = "at"
