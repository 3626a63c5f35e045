"""Payments in Django admin: read-only (every change goes through the services and the trail),
scoped to the departments an admin administers."""

from django.contrib import admin

from accounts.permissions import departments_administered_by

from .models import Payment, PaymentEvent, ReconciliationReport


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnly):
    list_display = ["provider_reference", "case", "department", "amount_fen", "state", "channel",
                    "method", "paid_at", "refunded_fen"]  # fmt: skip
    list_filter = ["state", "channel", "method", "due"]
    search_fields = ["provider_reference", "provider_transaction", "receipt_number", "case__number"]
    list_select_related = ["case", "department"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(department__in=departments_administered_by(request.user))
        )


@admin.register(PaymentEvent)
class PaymentEventAdmin(ReadOnly):
    list_display = ["received_at", "provider", "event_id", "kind", "verified", "result", "payment"]
    list_filter = ["verified", "result", "provider"]
    list_select_related = ["payment"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(payment__department__in=departments_administered_by(request.user))


@admin.register(ReconciliationReport)
class ReconciliationReportAdmin(ReadOnly):
    list_display = ["date", "department", "paid_fen", "refunded_fen", "payments", "refunds"]
    list_filter = ["date"]
    list_select_related = ["department"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(department__in=departments_administered_by(request.user))
        )
