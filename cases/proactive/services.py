"""免申即享 (benefits without applying): the daily sweep, the offers, and the cases they file.

`sweep` (daily, Celery beat) takes each service with a policy on (services.ProactivePolicy) and
asks its registries, set-based, who meets every eligibility rule (`find_eligible`: one logged
sharing request per registry, under the service's grant); matches them to citizen profiles by the
keyed hash of the ID number in one query; and writes one ProactiveOffer per person and service
(bulk, unique per person and service, so a second run the same day or any later day finds nobody
new; a declined or opted-out offer is never made again) with their messages (the outbox). The
number of queries does not grow with the number of people.

- Offer mode: the person reads "您已符合 X，一键确认即可" in their inbox, on the home page and by text;
  `confirm_offer` files the case through the normal engine (create_draft, submit_application,
  channel `proactive`), so 秒批, the queue, the clock and the statistics apply as to any case;
  `decline_offer` records the answer.
- 帮办代办: a proxy with a current authorisation of the person (accounts.proxies.held_by; it is
  not limited to services) sees the person's pending offers and may confirm or decline them for
  them: the case is filed exactly as an online proxy application (the principal the applicant, the
  proxy the agent and filer, the authorisation on it), the offer records the proxy as the one who
  answered and the audit log names them. Opting out of a grant stays the person's own choice: no
  authorisation scope covers giving up a benefit for someone.
- Grant mode: the offer is written granted and `file_grants` files each case for the person (filed
  by the system account, each in its own transaction, idempotent); they are told, and may opt out
  (`opt_out`: an open case is withdrawn; it is never granted again).

Nothing here blocks: a registry down skips the service until the next run; a case the engine
cannot submit (an answer or a material the form still needs) stays a draft for the person.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts import proxies
from accounts.models import CitizenProfile, ProxyAuthorisation, User
from services.models import OuterState, ProactivePolicy, ServiceItem, localized
from services.proactive import filed_answers, registry_rules

from ..models import (
    CLOSED_STATES,
    Case,
    Channel,
    Notification,
    NotificationChannel,
    NotificationEvent,
    ProactiveOffer,
)
from ..models import OPEN_STATES as CASE_OPEN_STATES
from ..notifications.services import absolute_url, save_and_enqueue
from ..sharing.services import find_eligible
from ..workflow.errors import CaseConflict

logger = logging.getLogger(__name__)

State = ProactiveOffer.State
SYSTEM_USERNAME = "system-proactive"
OPEN_STATES = (State.OFFERED, State.GRANTED)
# A person with an application of the service in progress, or granted, is not offered it as well.
HELD_STATES = [*CASE_OPEN_STATES, OuterState.CONCLUDED]


# --- Selectors ----------------------------------------------------------------------------------------


def offers_of(user: User) -> QuerySet[ProactiveOffer]:
    """The user's own offers (their citizen profile's), newest first."""
    if not user.is_authenticated:
        return ProactiveOffer.objects.none()
    return ProactiveOffer.objects.filter(person__user=user).select_related(
        "service__current_version", "case"
    )


def open_offers_of(user: User) -> QuerySet[ProactiveOffer]:
    """What the home page and the inbox show: offers to confirm, and grants they may opt out of."""
    return offers_of(user).filter(state__in=OPEN_STATES)


def principal_offers_for(user: User) -> QuerySet[ProactiveOffer]:
    """帮办代办: the offers of the people `user` holds a current authorisation for (their proxy):
    those still to be answered, and those this proxy answered for them; nothing once the
    authorisation has ended or been revoked. Grouped by person, newest first."""
    if not user.is_authenticated:
        return ProactiveOffer.objects.none()
    principals = proxies.held_by(user).values("principal_id")
    return (
        ProactiveOffer.objects.filter(person_id__in=principals)
        .filter(Q(state=State.OFFERED) | Q(answered_by=user))
        .select_related("person", "service__current_version", "case")
        .order_by("person_id", "-found_at", "-pk")
    )


def offers_answerable_by(user: User) -> QuerySet[ProactiveOffer]:
    """The user's own offers and their principals' (as `principal_offers_for`)."""
    if not user.is_authenticated:
        return ProactiveOffer.objects.none()
    principals = proxies.held_by(user).values("principal_id")
    return ProactiveOffer.objects.filter(
        Q(person__user=user)
        | Q(person_id__in=principals) & (Q(state=State.OFFERED) | Q(answered_by=user))
    ).select_related("service__current_version", "case")


def _authorisation(offer: ProactiveOffer, user: User) -> ProxyAuthorisation | None:
    """None when the offer is the user's own; else the current authorisation of its person held
    by `user` (the one lasting longest), or DoesNotExist (ended since the offer was shown)."""
    if offer.person.user_id == user.pk:
        return None
    found = proxies.held_by(user).filter(principal=offer.person).order_by("-valid_until").first()
    if found is None:
        raise ProactiveOffer.DoesNotExist
    return found


def _log_proxy_answer(offer: ProactiveOffer, authorisation: ProxyAuthorisation, user: User):
    """The audit log names the proxy who answered for the person (the case's trail does too,
    once filed: its events are the proxy's)."""
    from auditlog.models import LogEntry

    LogEntry.objects.log_create(
        offer,
        force_log=True,
        action=LogEntry.Action.UPDATE,
        actor=user,
        object_repr=f"offer #{offer.pk} of person #{offer.person_id}",
        changes={"state": [State.OFFERED, offer.state]},
        additional_data={
            "event": f"proactive_{offer.state}_by_proxy",
            "authorisation": authorisation.pk,
            "service": offer.service.code,
            "case": offer.case.number if offer.case_id else None,
        },
    )


# --- The sweep ------------------------------------------------------------------------------------


def system_user() -> User:
    """The account that files granted cases (免申即享): it cannot sign in."""
    user, created = User.objects.get_or_create(
        username=SYSTEM_USERNAME, defaults={"is_active": False, "first_name": "免申即享"}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def eligible_hashes(policy: ProactivePolicy, day: dt.date) -> set[str] | None:
    """Keyed hashes of the ID numbers of everyone every rule holds for, or None when a registry
    could not answer (down, refused): the service waits for the next run."""
    found: set[str] | None = None
    for code, rules in registry_rules(policy.rules).items():
        hashes = find_eligible(registry_code=code, service=policy.service, rules=rules, day=day)
        if hashes is None:
            return None
        found = set(hashes) if found is None else found & set(hashes)
    return found


def sweep(*, day: dt.date | None = None) -> dict[str, int]:
    """Every service with 免申即享 on: the people newly found eligible (service code → how many)."""
    day = day or timezone.localdate()
    policies = ProactivePolicy.objects.filter(
        enabled=True, service__status=ServiceItem.Status.PUBLISHED
    ).values_list("pk", flat=True)
    found = {}
    for policy_id in list(policies):
        code, count = sweep_service(policy_id=policy_id, day=day)
        found[code] = count
    file_grants()
    return found


def sweep_service(*, policy_id: int, day: dt.date) -> tuple[str, int]:
    """One service's sweep, under its policy's row lock (two sweeps never offer twice)."""
    with transaction.atomic():
        policy = (
            ProactivePolicy.objects.select_for_update(of=("self",))
            .select_related("service__current_version")
            .get(pk=policy_id)
        )
        service = policy.service
        if not policy.enabled or not policy.rules:
            return service.code, 0
        hashes = eligible_hashes(policy, day)
        if not hashes:
            return service.code, 0
        people = list(
            CitizenProfile.objects.filter(id_number_hash__in=hashes)
            .exclude(pk__in=ProactiveOffer.objects.filter(service=service).values("person_id"))
            .exclude(
                pk__in=Case.objects.filter(service=service, state__in=HELD_STATES).values(
                    "applicant_id"
                )
            )
            .select_related("user")
        )
        if not people:
            return service.code, 0
        granted = policy.mode == ProactivePolicy.Mode.GRANT
        offers = ProactiveOffer.objects.bulk_create(
            [
                ProactiveOffer(
                    service=service,
                    person=person,
                    mode=policy.mode,
                    state=State.GRANTED if granted else State.OFFERED,
                )
                for person in people
            ]
        )
        if not granted:  # a grant is told once its case is filed (file_grants)
            save_and_enqueue(
                [
                    row
                    for offer in offers
                    for row in _messages(offer, NotificationEvent.PROACTIVE_OFFERED)
                ]
            )
    logger.info("免申即享 %s: %s people newly eligible", service.code, len(offers))
    return service.code, len(offers)


# --- Messages -------------------------------------------------------------------------------------


def _service_name(service: ServiceItem, language: str) -> str:
    with translation.override(language):
        return localized(service.current_version, "name")


def _messages(offer: ProactiveOffer, event: str) -> list[Notification]:
    """Unsaved rows telling the person: inbox (and e-mail) with an account, a text message to
    everyone with a phone; in their language."""
    person = offer.person
    user = person.user if person.user_id else None
    language = user.preferred_language if user else settings.LANGUAGE_CODE
    context = {
        "service": _service_name(offer.service, language),
        "offers_url": absolute_url(reverse("proactive:offers")),
        "number": offer.case.number if offer.case_id else "",
    }
    common = {"event": event, "language": language, "context": context, "case": offer.case}
    rows = []
    if user is not None:
        rows.append(Notification(recipient=user, channel=NotificationChannel.INBOX, **common))
        if user.email:
            rows.append(
                Notification(
                    recipient=user, channel=NotificationChannel.EMAIL, address=user.email, **common
                )
            )
    if person.phone:
        rows.append(
            Notification(
                person=person,
                recipient=user,
                channel=NotificationChannel.SMS,
                address=person.phone,
                **common,
            )
        )
    return rows


# --- Filing the case --------------------------------------------------------------------------------


def _file(
    offer: ProactiveOffer, *, user: User, authorisation: ProxyAuthorisation | None = None
) -> Case:
    """The case for the offer, through the normal engine: a draft with the policy's answers,
    submitted unless the form or the materials still need the person (it then stays a draft).
    With `authorisation`, `user` is the person's proxy and files it as their proxy."""
    from ..workflow import create_draft, submit_application

    policy = ProactivePolicy.objects.get(service=offer.service)
    case, _created = create_draft(
        service=offer.service,
        user=user,
        applicant=None if authorisation else offer.person,
        authorisation=authorisation,
        data=filed_answers(policy.answers, offer.person),
        channel=Channel.PROACTIVE,
    )
    try:
        case = submit_application(case=case, user=user, channel=Channel.PROACTIVE)
    except (ValidationError, CaseConflict) as exc:
        logger.warning("免申即享 case %s left as a draft: %s", case.number, exc)
    return case


def _locked_open(offers: QuerySet[ProactiveOffer], offer_id, state: str) -> ProactiveOffer:
    offer = offers.select_for_update(of=("self",)).filter(pk=offer_id).first()
    if offer is None:
        raise ProactiveOffer.DoesNotExist
    if offer.state != state:
        raise CaseConflict(_("This offer has already been answered."), code="answered")
    return offer


def _answer(offer: ProactiveOffer, state: str, *, user: User | None, note: str = "") -> None:
    offer.state, offer.answered_at, offer.answered_by = state, timezone.now(), user
    offer.note = (note or "")[:300]
    offer.save(update_fields=["state", "answered_at", "answered_by", "note", "case"])


def confirm_offer(*, offer_id, user: User) -> ProactiveOffer:
    """One click: the case is filed for the person through the engine (秒批 may decide it in the
    same request), by the person or by their proxy (module docstring). Raises
    ProactiveOffer.DoesNotExist for an offer neither theirs nor a principal's under a current
    authorisation, CaseConflict when it was answered already."""
    with transaction.atomic():
        offer = _locked_open(offers_answerable_by(user), offer_id, State.OFFERED)
        authorisation = _authorisation(offer, user)
        offer.case = _file(offer, user=user, authorisation=authorisation)
        _answer(offer, State.CONFIRMED, user=user)
        if authorisation is not None:
            _log_proxy_answer(offer, authorisation, user)
    return offer


def decline_offer(*, offer_id, user: User, reason: str = "") -> ProactiveOffer:
    """The person (or their proxy) does not want it: recorded, and never offered again."""
    with transaction.atomic():
        offer = _locked_open(offers_answerable_by(user), offer_id, State.OFFERED)
        authorisation = _authorisation(offer, user)
        _answer(offer, State.DECLINED, user=user, note=reason)
        if authorisation is not None:
            _log_proxy_answer(offer, authorisation, user)
    return offer


def opt_out(*, offer_id, user: User, reason: str = "") -> ProactiveOffer:
    """Out of a grant: the case, while still open, is withdrawn through the engine; the service is
    never granted to them again. The person's own choice: a proxy's answer is DoesNotExist."""
    from ..workflow import withdraw_case

    with transaction.atomic():
        offer = _locked_open(offers_of(user), offer_id, State.GRANTED)
        case = offer.case
        if case is not None and case.state not in CLOSED_STATES:
            words = reason or _("Opted out of the benefit granted without applying (免申即享).")
            if not case.is_draft:  # a draft never submitted is left; retention removes it
                try:
                    withdraw_case(case=case, user=user, reason=words, channel=Channel.ONLINE)
                except (ValidationError, CaseConflict) as exc:
                    logger.warning("免申即享 case %s not withdrawn: %s", case.number, exc)
        _answer(offer, State.OPTED_OUT, user=user, note=reason)
    return offer


def file_grants(limit: int = 500) -> int:
    """Granted offers without their case yet: each filed by the system account in its own
    transaction, and the person told (idempotent: an offer with a case is skipped)."""
    ids = list(
        ProactiveOffer.objects.filter(state=State.GRANTED, case__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    filed = 0
    for offer_id in ids:
        with transaction.atomic():
            offer = (
                ProactiveOffer.objects.select_for_update(of=("self",), skip_locked=True)
                .select_related("service__current_version", "person__user")
                .filter(pk=offer_id, state=State.GRANTED, case__isnull=True)
                .first()
            )
            if offer is None:
                continue
            offer.case = _file(offer, user=system_user())
            offer.save(update_fields=["case"])
            save_and_enqueue(_messages(offer, NotificationEvent.PROACTIVE_GRANTED))
            filed += 1
    return filed
