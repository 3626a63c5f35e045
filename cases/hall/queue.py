"""Queue tickets and calling (排队叫号): issue a ticket on arrival, call it to a window, serve it.

Order of calling (what a citizen may rely on): among the waiting tickets of the services a window
serves, an appointment's ticket whose slot has begun goes first (预约优先), then every other ticket
in issue order. An appointment ticket taken before its slot begins queues in issue order like a
walk-in until the slot begins; one taken after its slot has ended is a walk-in for good
(`priority` 1). Two windows calling at once never get the same ticket: the next one is taken
under `SELECT … FOR UPDATE SKIP LOCKED`.

Numbers run per centre and day, prefix and three digits (A001 walk-ins, Y001 appointments),
allocated under a lock on the centre row so that two kiosks never hand out the same one.

No ID number is kept: a ticket taken by ID number names the person on file (or no one).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.aggregates import Aggregate
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import CitizenProfile, User
from accounts.services import find_citizen_by_id_number
from accounts.validators import validate_id_number
from cases.counter.services import is_counter_clerk
from cases.models import Notification, NotificationChannel, NotificationEvent
from services.models import ServiceItem

from .models import Appointment, ServiceCentre, Ticket, Window

OPEN_STATES = (Ticket.State.CALLED, Ticket.State.SERVING)
CODE_SHAPE = re.compile(r"^[0-9A-Z]{8}$")


# --- Reading -------------------------------------------------------------------------------------


def served_services(centre: ServiceCentre) -> QuerySet[ServiceItem]:
    """The services some open window of `centre` serves: the ones a ticket can be taken for."""
    return (
        ServiceItem.objects.filter(windows__centre=centre, windows__active=True)
        .select_related("current_version")
        .distinct()
        .order_by("code")
    )


def _rank(now: dt.datetime) -> Case:
    """0 for an appointment's ticket whose slot has begun, 1 for every other."""
    return Case(
        When(priority=0, appointment__slot__starts_at__lte=now, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )


def waiting_for(window: Window, *, now: dt.datetime | None = None) -> QuerySet[Ticket]:
    """The window's queue, in calling order: today's waiting tickets of the services it serves."""
    now = now or timezone.now()
    return (
        Ticket.objects.filter(
            centre_id=window.centre_id,
            day=timezone.localdate(now),
            state=Ticket.State.WAITING,
            service__in=window.services.all(),
        )
        .annotate(rank=_rank(now))
        .order_by("rank", "issued_at", "pk")
    )


def current_ticket(window: Window) -> Ticket | None:
    """The ticket the window has called and not yet finished."""
    return (
        Ticket.objects.filter(window=window, day=timezone.localdate(), state__in=OPEN_STATES)
        .select_related("service__current_version", "citizen")
        .order_by("-last_called_at", "-pk")
        .first()
    )


def place_in_queue(ticket: Ticket, *, now: dt.datetime | None = None) -> int | None:
    """How many waiting tickets are ahead of `ticket` at the windows that could call it (None
    once it is no longer waiting). One query."""
    if ticket.state != Ticket.State.WAITING:
        return None
    now = now or timezone.now()
    mine = 0 if ticket.priority == 0 and _slot_begun(ticket, now) else 1
    rivals = ServiceItem.objects.filter(
        windows__centre_id=ticket.centre_id,
        windows__active=True,
        windows__services=ticket.service_id,
    ).values("pk")
    before = Q(rank__lt=mine) | Q(rank=mine, issued_at__lt=ticket.issued_at)
    before |= Q(rank=mine, issued_at=ticket.issued_at, pk__lt=ticket.pk)
    return (
        Ticket.objects.filter(
            centre_id=ticket.centre_id, day=ticket.day, state=Ticket.State.WAITING,
            service__in=rivals,
        )
        .exclude(pk=ticket.pk)
        .annotate(rank=_rank(now))
        .filter(before)
        .count()
    )  # fmt: skip


def _slot_begun(ticket: Ticket, now: dt.datetime) -> bool:
    if not ticket.appointment_id:
        return False
    return ticket.appointment.slot.starts_at <= now


def last_calls(centre: ServiceCentre, *, limit: int = 8) -> list[Ticket]:
    """Today's latest calls at the centre, newest first: what the hall display shows."""
    return list(
        Ticket.objects.filter(centre=centre, day=timezone.localdate(), last_called_at__isnull=False)
        .exclude(state=Ticket.State.NO_SHOW)
        .select_related("window")
        .order_by("-last_called_at", "-pk")[:limit]
    )


def waiting_counts(centre: ServiceCentre) -> list[dict]:
    """Waiting tickets per service today (one query): [{service, count}]."""
    rows = (
        Ticket.objects.filter(centre=centre, day=timezone.localdate(), state=Ticket.State.WAITING)
        .values("service")
        .annotate(count=Count("pk"))
    )
    counts = {row["service"]: row["count"] for row in rows}
    return [
        {"service": service, "count": counts.get(service.pk, 0)}
        for service in served_services(centre)
    ]


def may_call(user: User) -> bool:
    """Counter clerks call tickets (cases.counter)."""
    return is_counter_clerk(user)


# --- Issuing -------------------------------------------------------------------------------------


def _next_number(centre: ServiceCentre, day: dt.date, prefix: str) -> str:
    """The next free number of `prefix` at the centre that day; the caller holds the centre lock."""
    issued = Ticket.objects.filter(
        centre=centre, day=day, number__regex=rf"^{re.escape(prefix)}[0-9]+$"
    ).count()
    return f"{prefix}{issued + 1:03d}"


def _todays_appointment(centre: ServiceCentre, day: dt.date, **filters) -> Appointment | None:
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("slot__centre_service__service", "citizen")
        .filter(
            slot__centre_service__centre=centre,
            slot__starts_at__gte=start,
            slot__starts_at__lt=start + dt.timedelta(days=1),
            **filters,
        )
        .order_by("slot__starts_at")
        .first()
    )


def issue_ticket(
    *,
    centre: ServiceCentre,
    appointment_code: str = "",
    id_number: str = "",
    service: ServiceItem | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """A ticket for a citizen arriving at `centre` (kiosk or clerk).

    By `appointment_code`: today's booked appointment at this centre is marked arrived and its
    service queued with priority (see the module's rule on late arrivals); a code already used
    returns the same ticket. By `id_number`: the person's booked appointment today if any, else a
    walk-in ticket for `service` naming the person on file, or no one. With neither: an anonymous
    walk-in ticket for `service`. Raises ValidationError naming the field refused.
    """
    now = now or timezone.now()
    day = timezone.localdate(now)
    code = (appointment_code or "").strip().upper().replace(" ", "")
    number = (id_number or "").strip().upper()
    if not centre.active:
        raise ValidationError(_("This centre is not issuing tickets."))
    with transaction.atomic():
        ServiceCentre.objects.select_for_update().filter(pk=centre.pk).first()  # the number lock
        appointment, citizen = None, None
        if code:
            found = _todays_appointment(centre, day, code=code) if CODE_SHAPE.match(code) else None
            if found is None or found.state not in (
                Appointment.State.BOOKED,
                Appointment.State.ARRIVED,
            ):
                raise ValidationError(
                    {
                        "appointment_code": [
                            _(
                                "No appointment today at this centre has this code; check the code "
                                "in your booking message, or take a ticket without one."
                            )  # fmt: skip
                        ]
                    }
                )
            appointment = found
        elif number:
            try:
                validate_id_number(number)
            except ValidationError as exc:
                raise ValidationError({"id_number": exc.messages}) from exc
            citizen = find_citizen_by_id_number(number)
            if citizen is not None:
                appointment = _todays_appointment(
                    centre, day, citizen=citizen, state=Appointment.State.BOOKED
                )
        if appointment is not None:
            existing = Ticket.objects.filter(appointment=appointment).first()
            if existing is not None:
                return existing
            return _ticket_for_appointment(centre, appointment, day, now)
        if service is None or not served_services(centre).filter(pk=service.pk).exists():
            raise ValidationError({"service": [_("Choose one of the services served here.")]})
        return Ticket.objects.create(
            centre=centre, day=day, number=_next_number(centre, day, centre.ticket_prefix),
            service=service, citizen=citizen, priority=1, issued_at=now,
        )  # fmt: skip


def _ticket_for_appointment(
    centre: ServiceCentre, appointment: Appointment, day: dt.date, now: dt.datetime
) -> Ticket:
    appointment.state, appointment.arrived_at = Appointment.State.ARRIVED, now
    appointment.save(update_fields=["state", "arrived_at"])
    late = now > appointment.slot.ends_at
    return Ticket.objects.create(
        centre=centre, day=day, service=appointment.slot.centre_service.service,
        number=_next_number(centre, day, centre.appointment_ticket_prefix),
        citizen=appointment.citizen, appointment=appointment, priority=1 if late else 0,
        issued_at=now,
    )  # fmt: skip


# --- Calling -------------------------------------------------------------------------------------


def _check_clerk(clerk: User) -> None:
    if not may_call(clerk):
        raise PermissionDenied(_("Only counter clerks call tickets."))


def _locked_current(window: Window) -> Ticket | None:
    return (
        Ticket.objects.select_for_update()
        .filter(window=window, day=timezone.localdate(), state__in=OPEN_STATES)
        .order_by("-last_called_at", "-pk")
        .first()
    )


def call_next(*, window: Window, clerk: User) -> Ticket | None:
    """Call the next ticket to `window` (叫号), or None when nobody waits. Refused while the
    window's last call is unfinished: finish it or mark it a no-show first."""
    _check_clerk(clerk)
    now = timezone.now()
    with transaction.atomic():
        current = _locked_current(window)
        if current is not None:
            raise ValidationError(
                _("Finish %(number)s or mark it a no-show before calling the next ticket.")
                % {"number": current.number}
            )
        ticket = (
            waiting_for(window, now=now).select_for_update(skip_locked=True, of=("self",)).first()
        )
        if ticket is None:
            return None
        ticket.state, ticket.window, ticket.called_by = Ticket.State.CALLED, window, clerk
        ticket.called_at = ticket.last_called_at = now
        ticket.calls = 1
        ticket.save(
            update_fields=["state", "window", "called_by", "called_at", "last_called_at", "calls"]
        )
        _tell_called(ticket, window)
    return ticket


def recall(*, window: Window, clerk: User) -> Ticket:
    """Call the window's ticket again (重呼); the waiting time still counts from the first call."""
    _check_clerk(clerk)
    with transaction.atomic():
        ticket = _open_ticket(window, states=(Ticket.State.CALLED,))
        ticket.calls += 1
        ticket.last_called_at = timezone.now()
        ticket.save(update_fields=["calls", "last_called_at"])
        _tell_called(ticket, window)
    return ticket


def mark_no_show(*, window: Window, clerk: User) -> Ticket:
    """The citizen called did not come to the window (过号)."""
    _check_clerk(clerk)
    with transaction.atomic():
        ticket = _open_ticket(window, states=(Ticket.State.CALLED,))
        ticket.state, ticket.finished_at = Ticket.State.NO_SHOW, timezone.now()
        ticket.save(update_fields=["state", "finished_at"])
    return ticket


def start_service(*, window: Window, clerk: User) -> Ticket:
    """The citizen is at the window (开始办理): the clerk serves them."""
    _check_clerk(clerk)
    with transaction.atomic():
        ticket = _open_ticket(window, states=OPEN_STATES)
        if ticket.state != Ticket.State.SERVING:
            ticket.state = Ticket.State.SERVING
            ticket.save(update_fields=["state"])
    return ticket


def finish(*, window: Window, clerk: User) -> Ticket:
    """Done with the citizen (完成): the service time ends here."""
    _check_clerk(clerk)
    with transaction.atomic():
        ticket = _open_ticket(window, states=OPEN_STATES)
        ticket.state, ticket.finished_at = Ticket.State.DONE, timezone.now()
        ticket.save(update_fields=["state", "finished_at"])
    return ticket


def _open_ticket(window: Window, *, states) -> Ticket:
    ticket = _locked_current(window)
    if ticket is None or ticket.state not in states:
        raise ValidationError(_("This window has no ticket called for that."))
    return ticket


def record_case(*, case, clerk: User, number: str) -> Ticket | None:
    """The case a clerk filed for the ticket they are serving is recorded on the ticket (the
    counter calls this when it files with a queue ticket; the first case filed stays)."""
    number = (number or "").strip().upper()
    if not number:
        return None
    ticket = (
        Ticket.objects.select_for_update()
        .filter(
            day=timezone.localdate(), number=number, called_by=clerk, state__in=OPEN_STATES,
            case__isnull=True,
        )
        .order_by("-last_called_at")
        .first()
    )  # fmt: skip
    if ticket is not None:
        ticket.case = case
        ticket.save(update_fields=["case"])
    return ticket


def citizen_for_counter(ticket: Ticket) -> dict | None:
    """The ticket's citizen as the counter's desk keeps them (cases.counter.views._keep_citizen)."""
    profile: CitizenProfile | None = ticket.citizen
    if profile is None:
        return None
    return {"id_number": profile.id_number, "real_name": profile.real_name, "phone": profile.phone}


def _tell_called(ticket: Ticket, window: Window) -> list[Notification]:
    """The call ("请到 3 号窗口") to the ticket's citizen, if known: inbox with an account, a text message to
    their phone; through the outbox like every other message."""
    from cases.notifications.services import save_and_enqueue

    person = ticket.citizen
    if person is None:
        return []
    user = person.user if person.user_id else None
    language = user.preferred_language if user else settings.LANGUAGE_CODE
    centre = ticket.centre
    context = {
        "number": ticket.number,
        "window": window.number,
        "centre": (centre.name_en or centre.name) if language.startswith("en") else centre.name,
    }
    common = {"event": NotificationEvent.HALL_CALLED, "language": language, "context": context}
    rows = []
    if user is not None:
        rows.append(Notification(recipient=user, channel=NotificationChannel.INBOX, **common))
    if person.phone:
        rows.append(
            Notification(
                person=person, recipient=user, channel=NotificationChannel.SMS,
                address=person.phone, **common,
            )
        )  # fmt: skip
    return save_and_enqueue(rows)


# --- Waiting figures -----------------------------------------------------------------------------


class _Percentile(Aggregate):
    """percentile_cont / percentile_disc (PostgreSQL ordered-set aggregates)."""

    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, *, fraction: float, discrete: bool = False, **extra):
        super().__init__(
            expression,
            function="PERCENTILE_DISC" if discrete else "PERCENTILE_CONT",
            fraction=float(fraction),
            **extra,
        )


def _seconds(later: str, earlier: str) -> Func:
    return Func(
        ExpressionWrapper(F(later) - F(earlier), output_field=DurationField()),
        template="EXTRACT(EPOCH FROM %(expressions)s)",
        output_field=FloatField(),
    )


def waiting_figures(*, first_day: dt.date, last_day: dt.date, department: str = "") -> list[dict]:
    """Per centre and service over the days: tickets called, waiting time (ticket → first call)
    and service time (first call → finished, served tickets only), median and 90th percentile in
    seconds. The median is the middle value (the mean of the two middle ones); the 90th
    percentile the nearest rank, as the case figures (cases.transparency.statistics). One query
    on PostgreSQL; elsewhere two, reduced in Python."""
    tickets = Ticket.objects.filter(
        day__gte=first_day, day__lte=last_day, called_at__isnull=False
    ).order_by()
    if department:
        tickets = tickets.filter(service__department__code=department)
    names = (
        "centre__code", "centre__name", "centre__name_en", "service__code",
        "service__current_version__name", "service__current_version__name_en",
    )  # fmt: skip
    served = Q(state=Ticket.State.DONE, finished_at__isnull=False)
    if connection.vendor == "postgresql":
        wait, serve = _seconds("called_at", "issued_at"), _seconds("finished_at", "called_at")
        rows = list(
            tickets.values(*names)
            .annotate(
                called=Count("pk"),
                served=Count("pk", filter=served),
                wait_median=_Percentile(wait, fraction=0.5),
                wait_p90=_Percentile(wait, fraction=0.9, discrete=True),
                service_median=_Percentile(serve, fraction=0.5, filter=served),
                service_p90=_Percentile(serve, fraction=0.9, discrete=True, filter=served),
            )
            .order_by("centre__code", "service__code")
        )
    else:
        rows = _figures_in_python(tickets, names, served)
    return [_figure_row(row) for row in rows]


def _figures_in_python(tickets, names, served) -> list[dict]:
    from cases.transparency.statistics import median, percentile_90

    waits: dict[tuple, Counter] = defaultdict(Counter)
    services: dict[tuple, Counter] = defaultdict(Counter)
    for row in tickets.values(*names, "issued_at", "called_at"):
        key = tuple(row[name] for name in names)
        waits[key][round((row["called_at"] - row["issued_at"]).total_seconds())] += 1
    for row in tickets.filter(served).values(*names, "called_at", "finished_at"):
        key = tuple(row[name] for name in names)
        services[key][round((row["finished_at"] - row["called_at"]).total_seconds())] += 1
    return [
        {
            **dict(zip(names, key, strict=True)),
            "called": sum(waits[key].values()),
            "served": sum(services[key].values()),
            "wait_median": median(waits[key]),
            "wait_p90": percentile_90(waits[key]),
            "service_median": median(services[key]),
            "service_p90": percentile_90(services[key]),
        }
        for key in sorted(waits, key=lambda k: (k[0], k[3]))
    ]


def _figure_row(row: dict) -> dict:
    def whole(value) -> int | None:
        return None if value is None else round(value)

    return {
        "centre": row["centre__code"],
        "centre_name": row["centre__name"],
        "centre_name_en": row["centre__name_en"],
        "service": row["service__code"],
        "service_name": row["service__current_version__name"] or row["service__code"],
        "service_name_en": row["service__current_version__name_en"] or "",
        "called": row["called"],
        "served": row["served"],
        "wait_median_seconds": whole(row["wait_median"]),
        "wait_p90_seconds": whole(row["wait_p90"]),
        "service_median_seconds": whole(row["service_median"]),
        "service_p90_seconds": whole(row["service_p90"]),
    }
