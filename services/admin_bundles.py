"""Django admin for bundles (一件事), scoped: a department admin sees and edits the bundles their
department leads; a system admin all. Publishing runs the bundle's checks and lists every problem
(a member not published, a mapping to a field its form lacks, members waiting in a circle)."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from accounts.permissions import departments_administered_by
from portal.admin_mixins import CreationTimesNotAskedMixin, HiddenAnswersNotFoundMixin

from . import bundles
from .models import Bundle, BundleDependency, BundleMember


class BundleMemberInline(admin.TabularInline):
    model = BundleMember
    extra = 0
    fields = ("order", "key", "service", "field_map")
    autocomplete_fields = ("service",)


class BundleDependencyInline(admin.TabularInline):
    model = BundleDependency
    fk_name = "member"
    extra = 0
    fields = ("member", "waits_for", "prefill")


@admin.register(Bundle)
class BundleAdmin(HiddenAnswersNotFoundMixin, CreationTimesNotAskedMixin, admin.ModelAdmin):
    list_display = ("code", "name", "lead_department", "is_published")
    list_filter = ("is_published", "lead_department")
    list_select_related = ("lead_department",)
    search_fields = ("code", "name", "name_en")
    filter_horizontal = ("life_events",)
    inlines = [BundleMemberInline]
    readonly_fields = ("is_published", "published_at", "problems")
    actions = ["publish", "unpublish"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(lead_department__in=departments_administered_by(request.user))
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "lead_department":
            kwargs["queryset"] = departments_administered_by(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("what stops publishing"))
    def problems(self, obj: Bundle):
        if obj is None or obj.pk is None:
            return "—"
        found = bundles.bundle_problems(obj)
        if not found:
            return _("Nothing: the bundle may be published.")
        return format_html_join("", "<p>{}</p>", ((p,) for p in found))

    @admin.action(description=_("Publish the selected bundles"))
    def publish(self, request, queryset):
        for bundle in queryset:
            try:
                bundles.publish_bundle(bundle=bundle)
            except ValidationError as exc:
                messages.error(request, f"{bundle}: " + " ".join(exc.messages))
            else:
                messages.success(request, _("%(bundle)s is published.") % {"bundle": bundle})

    @admin.action(description=_("Take the selected bundles off the catalog"))
    def unpublish(self, request, queryset):
        for bundle in queryset:
            bundles.unpublish_bundle(bundle=bundle)


@admin.register(BundleMember)
class BundleMemberAdmin(HiddenAnswersNotFoundMixin, admin.ModelAdmin):
    """A member with what it waits for (the dependencies are edited here, on the waiting member)."""

    list_display = ("bundle", "key", "service", "order")
    list_select_related = ("bundle", "service")
    inlines = [BundleDependencyInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(bundle__lead_department__in=departments_administered_by(request.user))
        )
