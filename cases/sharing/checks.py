"""System checks: every registry in DATA_REGISTRIES is implemented (STYLE "Extension points are
registries with a check") and, when configured by its entry (cases.sharing.http), can be built;
production does not run on the demo registries, nor ask a registry over plain HTTP."""

from django.conf import settings
from django.core import checks

DEMO_PREFIX = "cases.sharing.demo."


def _name(entry) -> str:
    return entry if isinstance(entry, str) else str(entry.get("code") or entry.get("class"))


@checks.register()
def data_registries(app_configs, **kwargs):
    from django.core.exceptions import ImproperlyConfigured

    from .registry import Registry, entry_class

    errors, codes = [], {}
    for entry in settings.DATA_REGISTRIES:
        registry, options = entry_class(entry) if isinstance(entry, str | dict) else (None, {})
        if not (isinstance(registry, type) and issubclass(registry, Registry)):
            errors.append(
                checks.Error(
                    f"DATA_REGISTRIES names {_name(entry)!r}, which is no subclass of "
                    "cases.sharing.registry.Registry: materials shared from it could never be "
                    "fetched.",
                    hint="Write the dotted path of a Registry subclass, e.g. "
                    "cases.sharing.demo.HouseholdRegistry, or an object configuring "
                    "cases.sharing.http.HttpRegistry.",
                    id="cases_sharing.E001",
                )
            )
            continue
        if options:  # an adapter configured by its entry: it must build
            try:
                registry = registry(**options)
            except (TypeError, ValueError, ImproperlyConfigured) as exc:
                errors.append(
                    checks.Error(
                        f"The registry {_name(entry)!r} of DATA_REGISTRIES cannot be built: "
                        f"{str(exc) if isinstance(exc, ImproperlyConfigured) else type(exc).__name__}.",
                        hint="See cases/sharing/http.py for the keys of an entry.",
                        id="cases_sharing.E004",
                    )
                )
                continue
        if not (registry.code and registry.department_code and registry.fields):
            errors.append(
                checks.Error(
                    f"The registry {_name(entry)!r} lacks a code, an owning department_code or "
                    "fields.",
                    id="cases_sharing.E002",
                )
            )
        elif registry.code in codes:
            errors.append(
                checks.Error(
                    f"The registries {codes[registry.code]!r} and {_name(entry)!r} share the code "
                    f"{registry.code!r}.",
                    id="cases_sharing.E003",
                )
            )
        codes.setdefault(registry.code, _name(entry))
    return errors


@checks.register(checks.Tags.security, deploy=True)
def demo_registries(app_configs, **kwargs):
    demo = [
        path
        for path in settings.DATA_REGISTRIES
        if isinstance(path, str) and path.startswith(DEMO_PREFIX)
    ]
    warnings = []
    if demo:
        warnings.append(
            checks.Warning(
                "DATA_REGISTRIES names demo registries, which answer from the demo tables only: "
                + ", ".join(demo),
                hint="Name the adapters of the departments' real data services.",
                id="cases_sharing.W001",
            )
        )
    clear = [
        _name(entry)
        for entry in settings.DATA_REGISTRIES
        if isinstance(entry, dict) and not str(entry.get("url", "")).startswith("https://")
    ]
    if clear:
        warnings.append(
            checks.Warning(
                "Registries of DATA_REGISTRIES reached without https://: ID numbers and names "
                "would travel in clear: " + ", ".join(clear),
                hint="Set each registry's `url` to its HTTPS endpoint.",
                id="cases_sharing.W002",
            )
        )
    return warnings
