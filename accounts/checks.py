"""System checks of the accounts app: the configured identity provider exists (STYLE "Extension
points are registries with a check")."""

from django.conf import settings
from django.core import checks


@checks.register()
def identity_provider(app_configs, **kwargs):
    from django.utils.module_loading import import_string

    from .identity import IdentityProvider

    path = settings.IDENTITY_PROVIDER
    try:
        provider = import_string(path)
    except ImportError:
        provider = None
    if not (isinstance(provider, type) and issubclass(provider, IdentityProvider)):
        return [
            checks.Error(
                f"IDENTITY_PROVIDER {path!r} names no subclass of "
                "accounts.identity.IdentityProvider: nobody could register.",
                hint="Set it to a dotted path such as accounts.identity.DemoIdentityProvider.",
                id="accounts.E001",
            )
        ]
    if not getattr(provider, "name", ""):
        return [
            checks.Error(
                f"The identity provider {path!r} has no `name`, which verified profiles record.",
                id="accounts.E002",
            )
        ]
    return []


@checks.register(checks.Tags.security, deploy=True)
def demo_identity_provider(app_configs, **kwargs):
    if settings.IDENTITY_PROVIDER == "accounts.identity.DemoIdentityProvider":
        return [
            checks.Warning(
                "IDENTITY_PROVIDER is the demo provider: only the people of the demo population "
                "register can register.",
                hint="Name the production identity provider's adapter in IDENTITY_PROVIDER.",
                id="accounts.W001",
            )
        ]
    return []


@checks.register(checks.Tags.security, deploy=True)
def http_identity_provider(app_configs, **kwargs):
    if settings.IDENTITY_PROVIDER != "accounts.identity.HttpIdentityProvider":
        return []
    if not settings.IDENTITY_PROVIDER_URL.startswith("https://"):
        return [
            checks.Warning(
                "IDENTITY_PROVIDER_URL is not an https:// address: names, ID numbers and phones "
                "would travel in clear.",
                hint="Set IDENTITY_PROVIDER_URL to the identity service's HTTPS endpoint.",
                id="accounts.W002",
            )
        ]
    return []
