"""Text messages: a small backend interface. The console backend logs; a provider's backend
implements `send` and is named in SMS_BACKEND."""

import logging

logger = logging.getLogger("cases.sms")


class BaseSMSBackend:
    def send(self, phone: str, text: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class ConsoleSMSBackend(BaseSMSBackend):
    """Development and tests: the message goes to the log (and to `sent` for tests to read)."""

    sent: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        masked = phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else phone
        logger.info("SMS to %s: %s", masked, text)
        ConsoleSMSBackend.sent.append((phone, text))


class HttpSMSBackend(BaseSMSBackend):
    """Production: an SMS gateway reached over HTTPS (the government's messaging platform, or a
    carrier's or cloud provider's gateway behind it). One POST per message to SMS_GATEWAY_URL with
    `Authorization: Bearer SMS_GATEWAY_TOKEN` and the JSON body `{"phone", "text"}`; any 2xx answer
    is success. Anything else raises, so a case message is retried by the outbox
    (cases.notifications.services.deliver) and a code's sender is told to try again. A gateway with
    another shape is adapted by a subclass overriding `request_body`."""

    def request_body(self, phone: str, text: str) -> dict:
        return {"phone": phone, "text": text}

    def send(self, phone: str, text: str) -> None:
        import json
        import urllib.request

        from django.conf import settings

        request = urllib.request.Request(  # noqa: S310 - the URL is the operator's setting
            settings.SMS_GATEWAY_URL,
            data=json.dumps(self.request_body(phone, text)).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {settings.SMS_GATEWAY_TOKEN}",
            },
            method="POST",
        )
        # urlopen raises HTTPError for any status from 400 up, URLError/OSError when unreachable.
        with urllib.request.urlopen(request, timeout=settings.SMS_GATEWAY_TIMEOUT):  # noqa: S310
            pass
