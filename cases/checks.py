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


@checks.register(checks.Tags.security, deploy=True)
def sms_backend(app_configs, **kwargs):
    """Codes and case messages must reach people: not the console in production."""
    from django.conf import settings

    if settings.SMS_BACKEND == "cases.notifications.sms.ConsoleSMSBackend":
        return [
            checks.Warning(
                "SMS_BACKEND is the console backend: no text message (registration codes, case "
                "updates) would reach anyone.",
                hint="Set SMS_BACKEND to cases.notifications.sms.HttpSMSBackend and "
                "SMS_GATEWAY_URL, or to your gateway's adapter.",
                id="cases.W001",
            )
        ]
    if settings.SMS_BACKEND == "cases.notifications.sms.HttpSMSBackend" and not (
        settings.SMS_GATEWAY_URL.startswith("https://")
    ):
        return [
            checks.Warning(
                "SMS_GATEWAY_URL is not an https:// address: phones and codes would travel in "
                "clear.",
                hint="Set SMS_GATEWAY_URL to the gateway's HTTPS endpoint.",
                id="cases.W002",
            )
        ]
    return []
