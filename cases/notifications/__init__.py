"""Notifications: the outbox and its delivery, the in-app inbox, text messages, and their admin."""
