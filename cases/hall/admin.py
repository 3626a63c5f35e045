"""Service centres as data (issue 19, item 1): a centre's address, hours and booking rules, the
services it books with their slot length and places, and its windows with the services each serves.
A department admin sees and edits the centres their departments operate; a system admin all.
Appointments are read here, never changed (cases/hall/booking.py changes them)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from accounts.permissions import departments_administered_by
from portal.admin_mixins import (
    CreationTimesNotAskedMixin,
    HiddenAnswersNotFoundMixin,
    ReadOnlyAdminMixin,
)
from services.models import ServiceItem

from .models import Appointment, CentreService, ServiceCentre, Window


def _services():
    """Every service not retired: a centre hosts the counters of many departments (综合窗口)."""
    return (
        ServiceItem.objects.exclude(status=ServiceItem.Status.RETIRED)
        .select_related("current_version")
        .order_by("code")
    )


class CentreServiceInline(admin.TabularInline):
    model = CentreService
    extra = 0
    fields = ("service", "slot_minutes", "capacity", "bookable")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "service":
            kwargs["queryset"] = _services()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class WindowInline(admin.StackedInline):
    model = Window
    extra = 0
    fields = (("number", "label", "active"), "services")
    filter_horizontal = ("services",)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "services":
            kwargs["queryset"] = _services()
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(ServiceCentre)
class ServiceCentreAdmin(HiddenAnswersNotFoundMixin, admin.ModelAdmin):
    list_display = ("code", "name", "department", "address", "opens_at", "closes_at", "active")
    list_filter = ("active", "department")
    list_select_related = ("department",)
    search_fields = ("code", "name", "address")
    inlines = [CentreServiceInline, WindowInline]
    fieldsets = (
        (None, {"fields": ("code", "name", "name_en", "department", "active")}),
        (None, {"fields": ("address", "address_en", "phone")}),
        (
            _("Opening hours (on working days)"),
            {"fields": (("opens_at", "closes_at"), ("lunch_from", "lunch_until"))},
        ),
        (
            _("Booking rules"),
            {
                "fields": (
                    "booking_horizon_days",
                    "cancel_until_hours",
                    ("no_show_limit", "no_show_window_days", "booking_pause_days"),
                )
            },
        ),
        (_("Queue tickets"), {"fields": (("ticket_prefix", "appointment_ticket_prefix"),)}),
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(department__in=departments_administered_by(request.user))
        )

    def get_readonly_fields(self, request, obj=None):
        return ("code",) if obj else ()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "department":
            kwargs["queryset"] = departments_administered_by(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Appointment)
class AppointmentAdmin(
    HiddenAnswersNotFoundMixin, CreationTimesNotAskedMixin, ReadOnlyAdminMixin, admin.ModelAdmin
):
    list_display = ("code", "slot", "state", "created_at")
    list_filter = ("state", "slot__centre_service__centre")
    list_select_related = (
        "slot__centre_service__centre",
        "slot__centre_service__service",
    )
    search_fields = ("code",)
    fields = ("code", "slot", "state", "created_at", "cancelled_at", "reminded_at", "arrived_at")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(
                slot__centre_service__centre__department__in=departments_administered_by(
                    request.user
                )
            )
        )
