from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    """Fees (缴费): payments of cases through a pluggable provider or at the window, refunds,
    the electronic receipt and the daily reconciliation."""

    name = "cases.payments"
    label = "cases_payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401
