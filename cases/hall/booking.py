"""Booking a visit to a service centre (预约到厅办理): slots, real-name bookings, cancellation,
the day-before reminder and no-shows (issue 19, item 2).

Rules a caller may rely on:
- A centre opens on working days only (services.calendar: holidays and make-up workdays 调休).
  Bookable days are today and the next `booking_horizon_days` working days; a day of a year the
  calendar has no data for is never bookable (the calendar cannot say whether it is a holiday).
- Slots are made on demand for a bookable day from the centre's hours, less the lunch break, in the
  service's slot length (`ensure_slots`): an INSERT ... ON CONFLICT DO NOTHING on the unique
  (centre_service, starts_at), so two requests making the same day's slots make them once.
- A booking takes a place with one conditional UPDATE (`booked < capacity`): of any number of
  people racing for the last place exactly one wins; the database check `slot_never_overbooked`
  is the last line of defence.
- One live booking per person, service and day (a second one would only hold a place another
  person needs); the person's profile row is locked while booking, so two tabs cannot both pass.
- A citizen who did not come `no_show_limit` times within `no_show_window_days` cannot book at
  that centre for `booking_pause_days` after the last missed visit; the refusal says why and when
  booking reopens.
- Cancelling is allowed until `cancel_until_hours` before the slot starts; the place is freed.
- Every change of an appointment is saved as a model change, so the audit log (django-auditlog,
  portal/audit.py) records who booked, cancelled or was marked as not having come.
- Messages go through the outbox (cases.notifications): booked, cancelled, the reminder the day
  before (once: `reminded_at`), and the no-show notice that says when booking is paused.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts import proxies
from accounts.models import CitizenProfile, ProxyAuthorisation, User
from services.calendar import working_days_from
from services.models import ServiceItem, localized

from .models import Appointment, CentreService, ServiceCentre, Slot

logger = logging.getLogger(__name__)

# The reminder goes out from this hour of the day before the visit (local time).
REMINDER_HOUR = 18


def _now() -> dt.datetime:
    return timezone.now()


def _local(moment: dt.datetime) -> dt.datetime:
    return timezone.localtime(moment)


def _at(day: dt.date, time: dt.time) -> dt.datetime:
    """`time` on `day` in the portal's time zone (settings.TIME_ZONE), aware."""
    return timezone.make_aware(dt.datetime.combine(day, time))


# --- Where and when ---------------------------------------------------------------------------------


def bookable_centre_services(service: ServiceItem) -> QuerySet[CentreService]:
    """The open centres that take bookings for `service`, by centre."""
    return (
        CentreService.objects.filter(service=service, bookable=True, centre__active=True)
        .select_related("centre")
        .order_by("centre__code")
    )


def centre_service_for(*, service_code: str, centre_code: str) -> CentreService | None:
    """The booking of a published service at an open centre, by their codes; None if there is none."""
    return (
        CentreService.objects.filter(
            service__code=service_code,
            service__status=ServiceItem.Status.PUBLISHED,
            centre__code=centre_code,
            centre__active=True,
            bookable=True,
        )
        .select_related("centre")
        .first()
    )


def bookable_days(centre: ServiceCentre, *, now: dt.datetime | None = None) -> list[dt.date]:
    """Today (while the centre is still open) and the next `booking_horizon_days` working days.

    None of a year without calendar data: whether it is a holiday is not known yet.
    """
    now = _local(now or _now())
    days = working_days_from(now.date(), centre.booking_horizon_days)
    if days and days[0] == now.date() and now.time() >= centre.closes_at:
        days = days[1:]
    return days


def slot_times(
    centre_service: CentreService, day: dt.date
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The day's slots: from opening to closing in the slot length, none across the lunch break."""
    centre = centre_service.centre
    length = dt.timedelta(minutes=centre_service.slot_minutes)
    closes = _at(day, centre.closes_at)
    lunch = (
        (_at(day, centre.lunch_from), _at(day, centre.lunch_until))
        if centre.lunch_from and centre.lunch_until
        else None
    )
    times = []
    start = _at(day, centre.opens_at)
    while start + length <= closes:
        end = start + length
        if lunch and start < lunch[1] and end > lunch[0]:
            start = lunch[1]
            continue
        times.append((start, end))
        start = end
    return times


def ensure_slots(centre_service: CentreService, day: dt.date) -> None:
    """The day's slot rows, made once however many requests ask at the same time."""
    Slot.objects.bulk_create(
        [
            Slot(
                centre_service=centre_service,
                starts_at=start,
                ends_at=end,
                capacity=centre_service.capacity,
            )
            for start, end in slot_times(centre_service, day)
        ],
        ignore_conflicts=True,
    )


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return _at(day, dt.time.min), _at(day + dt.timedelta(days=1), dt.time.min)


def slots_of_day(
    centre_service: CentreService, day: dt.date, *, now: dt.datetime | None = None
) -> list[Slot]:
    """The slots of a bookable day still to come (full ones included: `places_left` 0)."""
    now = now or _now()
    if day not in bookable_days(centre_service.centre, now=now):
        raise ValidationError(
            {
                "date": [
                    _(
                        "This day cannot be booked: the centre takes bookings for its working "
                        "days, up to %(n)d working days ahead."
                    )
                    % {"n": centre_service.centre.booking_horizon_days}
                ]
            }
        )
    ensure_slots(centre_service, day)
    start, end = _day_bounds(day)
    return list(
        Slot.objects.filter(
            centre_service=centre_service, starts_at__gte=max(start, now), starts_at__lt=end
        ).order_by("starts_at")
    )


# --- Who may book -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pause:
    """Booking at a centre paused after repeated no-shows (失约): why, and from when it reopens."""

    missed: int
    window_days: int
    reopens_on: dt.date

    @property
    def reason(self) -> str:
        return _(
            "Booking is paused: you did not come to %(missed)d booked visits within "
            "%(days)d days. You can book again from %(date)s."
        ) % {
            "missed": self.missed,
            "days": self.window_days,
            "date": self.reopens_on.isoformat(),
        }


def booking_pause(
    citizen: CitizenProfile, centre: ServiceCentre, *, now: dt.datetime | None = None
) -> Pause | None:
    """The pause in force for `citizen` at `centre`, if any: at least `no_show_limit` missed visits
    within `no_show_window_days` before the latest one, and fewer than `booking_pause_days` since it."""
    if centre.no_show_limit == 0:
        return None
    today = _local(now or _now()).date()
    latest_start = today - dt.timedelta(days=centre.booking_pause_days)
    missed = list(
        Appointment.objects.filter(
            citizen=citizen,
            slot__centre_service__centre=centre,
            state=Appointment.State.NO_SHOW,
            slot__starts_at__gte=_at(
                latest_start - dt.timedelta(days=centre.no_show_window_days), dt.time.min
            ),
        )
        .order_by("-slot__starts_at")
        .values_list("slot__starts_at", flat=True)
    )
    if not missed:
        return None
    latest = _local(missed[0]).date()
    reopens_on = latest + dt.timedelta(days=centre.booking_pause_days)
    window_start = latest - dt.timedelta(days=centre.no_show_window_days)
    in_window = [m for m in missed if _local(m).date() > window_start]
    if len(in_window) < centre.no_show_limit or today >= reopens_on:
        return None
    return Pause(
        missed=len(in_window), window_days=centre.no_show_window_days, reopens_on=reopens_on
    )


def own_profile(user: User) -> CitizenProfile:
    profile = getattr(user, "citizen_profile", None)
    if profile is None:
        raise ValidationError(
            {"slot": [_("Bookings are real-name: add your real name and ID number first.")]},
            code="no_profile",
        )
    return profile


def held_authorisation(user: User, authorisation_id) -> ProxyAuthorisation:
    """The current authorisation `authorisation_id` held by `user`, or an error on `principal`."""
    try:
        return proxies.authorisation_for(user, authorisation_id)
    except ValidationError:
        raise ValidationError(
            {"principal": [_("You hold no current authorisation to book for this person.")]}
        ) from None


# --- Booking and cancelling -------------------------------------------------------------------------


def cancellable_until(appointment: Appointment) -> dt.datetime:
    centre = appointment.slot.centre_service.centre
    return appointment.slot.starts_at - dt.timedelta(hours=centre.cancel_until_hours)


def may_cancel(appointment: Appointment, *, now: dt.datetime | None = None) -> bool:
    return appointment.state == Appointment.State.BOOKED and (now or _now()) < cancellable_until(
        appointment
    )


def book(
    *,
    user: User,
    slot_id: int,
    authorisation: ProxyAuthorisation | None = None,
    now: dt.datetime | None = None,
) -> Appointment:
    """Book a place in slot `slot_id` for the user, or for the principal of `authorisation` (a proxy,
    帮办代办). Refusals are ValidationErrors on `slot` (or `principal`) saying why."""
    now = now or _now()
    with transaction.atomic():
        citizen = authorisation.principal if authorisation else own_profile(user)
        # One booking at a time per person: the same-day rule below cannot be raced.
        citizen = CitizenProfile.objects.select_for_update().get(pk=citizen.pk)
        slot = (
            Slot.objects.select_related("centre_service__centre", "centre_service__service")
            .filter(pk=slot_id)
            .first()
        )
        if (
            slot is None
            or not slot.centre_service.bookable
            or not slot.centre_service.centre.active
        ):
            raise ValidationError({"slot": [_("There is no such time to book.")]})
        centre = slot.centre_service.centre
        if slot.starts_at <= now:
            raise ValidationError({"slot": [_("This time has passed; choose a later one.")]})
        if _local(slot.starts_at).date() not in bookable_days(centre, now=now):
            raise ValidationError(
                {
                    "slot": [
                        _("This centre takes bookings up to %(n)d working days ahead.")
                        % {"n": centre.booking_horizon_days}
                    ]
                }
            )
        pause = booking_pause(citizen, centre, now=now)
        if pause is not None:
            raise ValidationError({"slot": [pause.reason]}, code="paused")
        start, end = _day_bounds(_local(slot.starts_at).date())
        if Appointment.objects.filter(
            citizen=citizen,
            slot__centre_service__service_id=slot.centre_service.service_id,
            slot__starts_at__gte=start,
            slot__starts_at__lt=end,
            state__in=[Appointment.State.BOOKED, Appointment.State.ARRIVED],
        ).exists():
            raise ValidationError(
                {"slot": [_("You already have a booking for this service on that day.")]}
            )
        taken = Slot.objects.filter(pk=slot.pk, booked__lt=F("capacity")).update(
            booked=F("booked") + 1
        )
        if not taken:
            raise ValidationError({"slot": [_("This time is fully booked; choose another.")]})
        appointment = Appointment.objects.create(
            slot=slot, citizen=citizen, booked_by=user, created_at=now
        )
        appointment.slot = slot
        _tell(appointment, "appointment_booked")
    return appointment


def appointments_of(user: User) -> QuerySet[Appointment]:
    """The appointments the user made or that are theirs (made by a proxy), soonest first."""
    if not user.is_authenticated:
        return Appointment.objects.none()
    return (
        Appointment.objects.filter(Q(booked_by=user) | Q(citizen__user=user))
        .select_related(
            "slot__centre_service__centre",
            "slot__centre_service__service__current_version",
            "citizen",
        )
        .order_by("-slot__starts_at", "-pk")
    )


def cancel(*, user: User, appointment_id: int, now: dt.datetime | None = None) -> Appointment:
    """Cancel a booking (by its citizen or the proxy who made it) until the centre's cut-off; the
    place is freed. Appointment.DoesNotExist when the user may not see it."""
    now = now or _now()
    with transaction.atomic():
        appointment = appointments_of(user).select_for_update(of=("self",)).get(pk=appointment_id)
        if appointment.state != Appointment.State.BOOKED:
            raise ValidationError({"appointment": [_("This booking is not open any more.")]})
        if not may_cancel(appointment, now=now):
            raise ValidationError(
                {
                    "appointment": [
                        _(
                            "Bookings can be cancelled until %(hours)d hours before the time "
                            "booked; please come, or call the centre."
                        )
                        % {"hours": appointment.slot.centre_service.centre.cancel_until_hours}
                    ]
                }
            )
        appointment.state = Appointment.State.CANCELLED
        appointment.cancelled_at = now
        appointment.save(update_fields=["state", "cancelled_at"])
        Slot.objects.filter(pk=appointment.slot_id, booked__gt=0).update(booked=F("booked") - 1)
        _tell(appointment, "appointment_cancelled")
    return appointment


# --- Sweeps (Celery beat, cases.tasks) --------------------------------------------------------------


def send_reminders(*, now: dt.datetime | None = None) -> int:
    """Remind everyone booked for tomorrow, from REMINDER_HOUR today; once each (`reminded_at`).
    Catches up after an outage (visits later today not yet reminded are reminded too), but never
    reminds a booking made after its reminder time (its confirmation just said it all)."""
    now = now or _now()
    local = _local(now)
    horizon_day = local.date() + dt.timedelta(days=2 if local.hour >= REMINDER_HOUR else 1)
    candidates = Appointment.objects.filter(
        state=Appointment.State.BOOKED,
        reminded_at__isnull=True,
        slot__starts_at__gt=now,
        slot__starts_at__lt=_at(horizon_day, dt.time.min),
    ).select_related(
        "slot__centre_service__centre",
        "slot__centre_service__service__current_version",
        "citizen__user",
    )
    sent = 0
    for appointment in candidates:
        due = _at(
            _local(appointment.slot.starts_at).date() - dt.timedelta(days=1), dt.time(REMINDER_HOUR)
        )
        if appointment.created_at >= due:
            continue
        with transaction.atomic():
            claimed = Appointment.objects.filter(
                pk=appointment.pk, state=Appointment.State.BOOKED, reminded_at__isnull=True
            ).update(reminded_at=now)
            if claimed:
                _tell(appointment, "appointment_reminder")
                sent += 1
    return sent


def mark_no_shows(*, now: dt.datetime | None = None) -> int:
    """After a centre closes, its day's bookings nobody came for are no-shows (失约); the person is
    told, and told when booking is paused. Earlier days' stragglers are caught up too."""
    now = now or _now()
    local = _local(now)
    marked = 0
    for centre in ServiceCentre.objects.all():
        closed_day = (
            local.date()
            if local.time() >= centre.closes_at
            else local.date() - dt.timedelta(days=1)
        )
        missed = Appointment.objects.filter(
            state=Appointment.State.BOOKED,
            slot__centre_service__centre=centre,
            slot__starts_at__lt=_day_bounds(closed_day)[1],
        ).select_related(
            "slot__centre_service__centre",
            "slot__centre_service__service__current_version",
            "citizen__user",
        )
        for appointment in missed:
            with transaction.atomic():
                fresh = (
                    Appointment.objects.select_for_update()
                    .filter(pk=appointment.pk, state=Appointment.State.BOOKED)
                    .first()
                )
                if fresh is None:
                    continue  # arrived or cancelled meanwhile
                fresh.state = Appointment.State.NO_SHOW
                fresh.save(update_fields=["state"])
                appointment.state = fresh.state
                pause = booking_pause(appointment.citizen, centre, now=now)
                _tell(
                    appointment,
                    "appointment_missed",
                    extra={"reopens_on": pause.reopens_on.isoformat() if pause else ""},
                )
                marked += 1
    return marked


# --- Messages ---------------------------------------------------------------------------------------


def _tell(appointment: Appointment, event: str, *, extra: dict | None = None) -> None:
    """Outbox rows for the citizen and, when a proxy booked, for the proxy too; each in their own
    language: inbox (and e-mail) with an account, a text message to a phone on record."""
    from cases.models import Notification, NotificationChannel
    from cases.notifications.services import absolute_url, save_and_enqueue

    slot = appointment.slot
    centre = slot.centre_service.centre
    service = slot.centre_service.service
    people: list[tuple[User | None, CitizenProfile | None]] = []
    citizen = appointment.citizen
    people.append((citizen.user if citizen.user_id else None, citizen))
    if appointment.booked_by_id and appointment.booked_by_id != citizen.user_id:
        people.append((appointment.booked_by, None))
    rows = []
    for user, profile in people:
        language = user.preferred_language if user else settings.LANGUAGE_CODE
        with translation.override(language):
            context = {
                "code": appointment.code,
                "service": localized(service.current_version, "name")
                if service.current_version_id
                else service.code,
                "centre": localized(centre, "name"),
                "address": localized(centre, "address"),
                "date": _local(slot.starts_at).date().isoformat(),
                "time": f"{_local(slot.starts_at):%H:%M}–{_local(slot.ends_at):%H:%M}",
                "appointments_url": absolute_url(reverse("hall-booking:mine")),
                **(extra or {}),
            }
        common = {"event": event, "language": language, "context": context}
        if user is not None:
            rows.append(Notification(recipient=user, channel=NotificationChannel.INBOX, **common))
            if user.email:
                rows.append(
                    Notification(
                        recipient=user,
                        channel=NotificationChannel.EMAIL,
                        address=user.email,
                        **common,
                    )
                )
        if profile is not None and profile.phone:
            rows.append(
                Notification(
                    person=profile,
                    recipient=user,
                    channel=NotificationChannel.SMS,
                    address=profile.phone,
                    **common,
                )
            )
    save_and_enqueue(rows)
