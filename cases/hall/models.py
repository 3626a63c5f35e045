"""The service hall (办事大厅): where a citizen who must come in is booked, queued and called.

A `ServiceCentre` has opening hours on the working-day calendar (services.calendar), `Window`s that
each serve some services, and per service (`CentreService`) a slot length and a capacity per slot.
`Slot` rows are made on demand for the booking horizon; their `booked` count can never pass their
`capacity` (a database check), so two citizens racing for the last place cannot both win. An
`Appointment` is real-name (a citizen profile) and may be made by a proxy. A `Ticket` is issued on
arrival (by appointment code or ID number, walk-ins too), called to a window by a clerk, and
recorded on the case the clerk files for it.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _


class ServiceCentre(models.Model):
    """A government service centre (政务服务中心) or a street's service station."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=150, blank=True)
    department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("operated by"),
        on_delete=models.PROTECT,
        related_name="service_centres",
    )
    address = models.CharField(_("address"), max_length=200)
    address_en = models.CharField(_("English address"), max_length=250, blank=True)
    phone = models.CharField(_("enquiry phone"), max_length=32, blank=True)
    # Open on working days only (services.calendar: holidays and make-up workdays).
    opens_at = models.TimeField(_("opens at"), default=dt.time(9, 0))
    closes_at = models.TimeField(_("closes at"), default=dt.time(17, 0))
    lunch_from = models.TimeField(_("lunch break from"), null=True, blank=True)
    lunch_until = models.TimeField(_("lunch break until"), null=True, blank=True)
    # Booking rules (预约规则); defaults are those of most Chinese service centres.
    booking_horizon_days = models.PositiveSmallIntegerField(
        _("bookable working days ahead"), default=5
    )
    cancel_until_hours = models.PositiveSmallIntegerField(
        _("cancellation allowed until (hours before)"), default=2
    )
    no_show_limit = models.PositiveSmallIntegerField(
        _("no-shows that pause booking"),
        default=3,
        help_text=_("Counted over the no-show window below; 0 never pauses."),
    )
    no_show_window_days = models.PositiveSmallIntegerField(
        _("no-show window (calendar days)"), default=90
    )
    booking_pause_days = models.PositiveSmallIntegerField(
        _("booking paused for (calendar days)"), default=30
    )
    ticket_prefix = models.CharField(
        _("ticket prefix"), max_length=2, default="A", help_text=_("Walk-in tickets: A001, A002…")
    )
    appointment_ticket_prefix = models.CharField(
        _("appointment ticket prefix"), max_length=2, default="Y"
    )
    active = models.BooleanField(_("open for booking and tickets"), default=True)

    class Meta:
        verbose_name = _("service centre")
        verbose_name_plural = _("service centres")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(opens_at__lt=F("closes_at")), name="centre_opens_before_closing"
            ),
            models.CheckConstraint(
                condition=(Q(lunch_from__isnull=True) & Q(lunch_until__isnull=True))
                | Q(lunch_from__lt=F("lunch_until")),
                name="centre_lunch_break_is_a_span",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CentreService(models.Model):
    """A service a centre books appointments for: its slot length and places per slot."""

    centre = models.ForeignKey(
        ServiceCentre, on_delete=models.CASCADE, related_name="services", verbose_name=_("centre")
    )
    service = models.ForeignKey(
        "services.ServiceItem",
        on_delete=models.CASCADE,
        related_name="centre_services",
        verbose_name=_("service"),
    )
    slot_minutes = models.PositiveSmallIntegerField(_("slot length (minutes)"), default=30)
    capacity = models.PositiveSmallIntegerField(_("places per slot"), default=2)
    bookable = models.BooleanField(_("bookable online"), default=True)

    class Meta:
        verbose_name = _("service at a centre")
        verbose_name_plural = _("services at a centre")
        constraints = [
            models.UniqueConstraint(fields=["centre", "service"], name="centre_service_once"),
            models.CheckConstraint(
                condition=Q(slot_minutes__gte=5) & Q(slot_minutes__lte=240),
                name="centre_service_slot_length",
            ),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="centre_service_capacity"),
        ]

    def __str__(self) -> str:
        return f"{self.centre} · {self.service}"


class Window(models.Model):
    """A numbered window (窗口) of a centre and the services it serves (综合窗口: several)."""

    centre = models.ForeignKey(
        ServiceCentre, on_delete=models.CASCADE, related_name="windows", verbose_name=_("centre")
    )
    number = models.PositiveSmallIntegerField(_("window number"))
    label = models.CharField(_("label"), max_length=60, blank=True)
    services = models.ManyToManyField(
        "services.ServiceItem", related_name="windows", verbose_name=_("services"), blank=True
    )
    active = models.BooleanField(_("open"), default=True)

    class Meta:
        verbose_name = _("window")
        verbose_name_plural = _("windows")
        ordering = ["centre", "number"]
        constraints = [
            models.UniqueConstraint(fields=["centre", "number"], name="window_number_once"),
        ]

    def __str__(self) -> str:
        return f"{self.centre} {self.number}"


class Slot(models.Model):
    """One bookable time of one service at one centre. `booked` never passes `capacity`."""

    centre_service = models.ForeignKey(
        CentreService, on_delete=models.CASCADE, related_name="slots"
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    capacity = models.PositiveSmallIntegerField(_("places"))
    booked = models.PositiveSmallIntegerField(_("booked"), default=0)

    class Meta:
        verbose_name = _("slot")
        verbose_name_plural = _("slots")
        ordering = ["starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["centre_service", "starts_at"], name="slot_once"),
            models.CheckConstraint(
                condition=Q(booked__gte=0) & Q(booked__lte=F("capacity")),
                name="slot_never_overbooked",
            ),
            models.CheckConstraint(condition=Q(starts_at__lt=F("ends_at")), name="slot_is_a_span"),
        ]

    def __str__(self) -> str:
        return f"{self.centre_service} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def places_left(self) -> int:
        return self.capacity - self.booked


def appointment_code() -> str:
    # 8 characters without look-alikes (0/O, 1/I/L): read out at a kiosk or typed on a tablet.
    alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    return "".join(secrets.choice(alphabet) for _ in range(8))


class Appointment(models.Model):
    """A real-name booking (实名预约) of one slot, by the citizen or a proxy for them."""

    class State(models.TextChoices):
        BOOKED = "booked", _("booked")
        CANCELLED = "cancelled", _("cancelled")
        ARRIVED = "arrived", _("arrived (ticket taken)")
        NO_SHOW = "no_show", _("did not come")

    code = models.CharField(
        _("appointment code"), max_length=8, unique=True, default=appointment_code
    )
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="appointments")
    citizen = models.ForeignKey(
        "accounts.CitizenProfile",
        on_delete=models.PROTECT,
        related_name="appointments",
        verbose_name=_("citizen"),
    )
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="appointments_booked",
        verbose_name=_("booked by"),
        help_text=_("The citizen's own account, or a proxy's (帮办代办)."),
    )
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.BOOKED)
    created_at = models.DateTimeField(_("booked at"), db_default=Now())
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["slot__starts_at"]
        constraints = [
            # One live booking per person and slot: a double click books once.
            models.UniqueConstraint(
                fields=["slot", "citizen"],
                condition=Q(state="booked") | Q(state="arrived"),
                name="appointment_once_per_slot",
            ),
        ]
        indexes = [
            models.Index(fields=["citizen", "state"], name="appointment_citizen_state"),
            # The reminder and no-show sweeps (cases/hall/booking.py) look at open bookings only.
            models.Index(fields=["slot"], condition=Q(state="booked"), name="appointment_open"),
        ]

    def __str__(self) -> str:
        return self.code


def ticket_token() -> str:
    return secrets.token_urlsafe(16)


class Ticket(models.Model):
    """A queue ticket (排队号) of one day at one centre."""

    class State(models.TextChoices):
        WAITING = "waiting", _("waiting")
        CALLED = "called", _("called")
        SERVING = "serving", _("being served")
        DONE = "done", _("served")
        NO_SHOW = "no_show", _("did not come to the window")

    centre = models.ForeignKey(ServiceCentre, on_delete=models.PROTECT, related_name="tickets")
    day = models.DateField(_("day"))
    number = models.CharField(_("ticket number"), max_length=8)
    service = models.ForeignKey(
        "services.ServiceItem", on_delete=models.PROTECT, related_name="tickets"
    )
    citizen = models.ForeignKey(
        "accounts.CitizenProfile",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        help_text=_("Known when the ticket was taken by appointment code or ID number."),
    )
    appointment = models.OneToOneField(
        Appointment, on_delete=models.PROTECT, null=True, blank=True, related_name="ticket"
    )
    # Appointments first within their slot: lower sorts first, then issue order.
    priority = models.PositiveSmallIntegerField(default=1)
    state = models.CharField(
        _("state"), max_length=12, choices=State.choices, default=State.WAITING
    )
    issued_at = models.DateTimeField(_("issued at"), db_default=Now())
    called_at = models.DateTimeField(_("called at"), null=True, blank=True)
    calls = models.PositiveSmallIntegerField(_("times called"), default=0)
    # The latest call or recall (called_at stays the first call, for the waiting time): the hall
    # display lists calls by it and chimes when it moves.
    last_called_at = models.DateTimeField(_("last called at"), null=True, blank=True)
    window = models.ForeignKey(
        Window, on_delete=models.PROTECT, null=True, blank=True, related_name="tickets"
    )
    called_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets_called",
    )
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    case = models.ForeignKey(
        "cases.Case",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("application filed"),
    )
    # For the citizen's phone: /hall/tickets/<token>/ shows their place without logging in.
    token = models.CharField(max_length=32, unique=True, default=ticket_token)

    class Meta:
        verbose_name = _("queue ticket")
        verbose_name_plural = _("queue tickets")
        ordering = ["day", "priority", "issued_at"]
        constraints = [
            models.UniqueConstraint(fields=["centre", "day", "number"], name="ticket_number_once"),
        ]
        indexes = [
            models.Index(
                fields=["centre", "day", "state", "priority", "issued_at"],
                name="ticket_queue_order",
            )
        ]

    def __str__(self) -> str:
        return self.number
