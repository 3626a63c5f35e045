"""System checks of the cases app: every effect an admin can tick has its handler."""

from django.core import checks


@checks.register()
def effect_handlers(app_configs, **kwargs):
    from .workflow.effects import missing_handlers

    return [
        checks.Error(
            f"The workflow effect {effect!r} has no handler: transitions that tick it would do "
            "nothing.",
            hint="Register one with cases.workflow.effect_handler(effect, phase=...).",
            id="cases.E001",
        )
        for effect in missing_handlers()
    ]
