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
