"""System checks: every registry in DATA_REGISTRIES is implemented (STYLE "Extension points are
registries with a check"), and production does not run on the demo registries."""

from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

DEMO_PREFIX = "cases.sharing.demo."


@checks.register()
def data_registries(app_configs, **kwargs):
    from .registry import Registry

    errors, codes = [], {}
    for path in settings.DATA_REGISTRIES:
        try:
            registry = import_string(path)
        except ImportError:
            registry = None
        if not (isinstance(registry, type) and issubclass(registry, Registry)):
            errors.append(
                checks.Error(
                    f"DATA_REGISTRIES names {path!r}, which is no subclass of "
                    "cases.sharing.registry.Registry: materials shared from it could never be "
                    "fetched.",
                    hint="Write the dotted path of a Registry subclass, e.g. "
                    "cases.sharing.demo.HouseholdRegistry.",
                    id="cases_sharing.E001",
                )
            )
            continue
        if not (registry.code and registry.department_code and registry.fields):
            errors.append(
                checks.Error(
                    f"The registry {path!r} lacks a code, an owning department_code or fields.",
                    id="cases_sharing.E002",
                )
            )
        elif registry.code in codes:
            errors.append(
                checks.Error(
                    f"The registries {codes[registry.code]!r} and {path!r} share the code "
                    f"{registry.code!r}.",
                    id="cases_sharing.E003",
                )
            )
        codes.setdefault(registry.code, path)
    return errors


@checks.register(checks.Tags.security, deploy=True)
def demo_registries(app_configs, **kwargs):
    demo = [path for path in settings.DATA_REGISTRIES if path.startswith(DEMO_PREFIX)]
    if demo:
        return [
            checks.Warning(
                "DATA_REGISTRIES names demo registries, which answer from the demo tables only: "
                + ", ".join(demo),
                hint="Name the adapters of the departments' real data services.",
                id="cases_sharing.W001",
            )
        ]
    return []
