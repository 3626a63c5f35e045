"""System checks: PAYMENT_PROVIDER names a provider class (STYLE "Extension points are registries
with a check"), and production does not take fees through the demo provider unawares."""

from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

DEMO_PROVIDER = "cases.payments.providers.DemoPaymentProvider"
DEV_SECRET = "dev-only-demo-payment-secret"  # noqa: S105


@checks.register()
def payment_provider(app_configs, **kwargs):
    from .providers import PaymentProvider

    path = settings.PAYMENT_PROVIDER
    if not path:
        return []  # no online payment: fees at the window only
    try:
        provider = import_string(path)
    except ImportError:
        provider = None
    if not (isinstance(provider, type) and issubclass(provider, PaymentProvider) and provider.code):
        return [
            checks.Error(
                f"PAYMENT_PROVIDER {path!r} names no subclass of "
                "cases.payments.providers.PaymentProvider with a code: fees could not be paid.",
                hint=f"Write the dotted path of a provider class, e.g. {DEMO_PROVIDER}.",
                id="cases_payments.E001",
            )
        ]
    return []


@checks.register(checks.Tags.security, deploy=True)
def demo_payment_provider(app_configs, **kwargs):
    if settings.PAYMENT_PROVIDER != DEMO_PROVIDER:
        return []
    warnings = [
        checks.Warning(
            "PAYMENT_PROVIDER is the demo provider: its checkout takes no money, and every fee "
            "it 'collects' is simulated.",
            hint="Set PAYMENT_PROVIDER to the adapter of the payment platform (统一公共支付平台).",
            id="cases_payments.W001",
        )
    ]
    if settings.PAYMENT_DEMO_SECRET == DEV_SECRET:
        warnings.append(
            checks.Warning(
                "PAYMENT_DEMO_SECRET is the development default: anyone can sign its callbacks.",
                hint="Set PAYMENT_DEMO_SECRET, or use a real provider.",
                id="cases_payments.W002",
            )
        )
    return warnings
