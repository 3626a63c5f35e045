"""What the home page shows: the most used services, services for people and for organisations, the
elder version's tiles (长辈版) and the drafts a signed-in applicant can continue (继续办理).

Reads only; each function is one query whatever the size of the catalog or the number of cases.
"Most used" counts the applications received in the last twelve months from the public figures
table (`MonthlyFigures`, refreshed by Celery), never the cases table itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from django.db.models import IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from services.models import Audience, OuterState, ServiceItem


@dataclass(frozen=True)
class ElderTile:
    """One large tile of the elder home: an everyday word, the service it means in the demo
    catalog, and the search that finds it where that code does not exist."""

    key: str
    label: Promise
    hint: Promise
    code: str
    search: str


# The services older people use most (MIIT 适老化: the few things most wanted, one tap away).
ELDER_TILES: tuple[ElderTile, ...] = (
    ElderTile("senior-card", _("Senior card"), _("Senior discounts"),
              "330100-MZ-GG-001", "老年卡"),
    ElderTile("old-age-allowance", _("Old-age allowance"), _("Aged 80 and over"),
              "330108-WH-GF-001", "高龄津贴"),
    ElderTile("pension", _("Pension insurance"), _("Enrol, pension"),
              "330110-SL-DJ-001", "养老保险"),
    ElderTile("medical-insurance", _("Medical insurance"), _("Enrol, claims"),
              "330100-YB-DJ-001", "医保"),
    ElderTile("social-security-card", _("Social security card"), _("Apply, replace"),
              "330100-RS-GG-001", "社保卡"),
    ElderTile("identity-card", _("Identity card"), _("Renew, replace"),
              "330100-PSB-QR-002", "身份证"),
)  # fmt: skip

USE_WINDOW_MONTHS = 12


@dataclass(frozen=True)
class TileLink:
    tile: ElderTile
    url: str
    service: ServiceItem | None  # None: not in this catalog; the tile searches for its word


def _published() -> QuerySet[ServiceItem]:
    return ServiceItem.objects.filter(status=ServiceItem.Status.PUBLISHED).select_related(
        "current_version"
    )


def _window_start(today: dt.date) -> dt.date:
    index = today.year * 12 + today.month - 1 - (USE_WINDOW_MONTHS - 1)
    return dt.date(index // 12, index % 12 + 1, 1)


def most_used_services(*, audience: str = "", limit: int = 8) -> list[ServiceItem]:
    """Published services by applications received in the last twelve months, then by code.
    `audience` "person" or "organisation" keeps those for that audience (and for both)."""
    from cases.models import MonthlyFigures

    received = (
        MonthlyFigures.objects.filter(
            service=OuterRef("pk"), month__gte=_window_start(timezone.localdate())
        )
        .values("service")
        .annotate(total=Sum("received"))
        .values("total")
    )
    services = _published().annotate(
        uses=Coalesce(Subquery(received, output_field=IntegerField()), Value(0))
    )
    if audience in (Audience.PERSON, Audience.ORGANISATION):
        services = services.filter(current_version__audience__in=[audience, Audience.BOTH])
    return list(services.order_by("-uses", "code")[:limit])


def elder_tiles() -> list[TileLink]:
    """The elder home's tiles, each linked to its service's guide when the catalog has it
    published, else to a search for its everyday word."""
    found = {
        item.code: item for item in _published().filter(code__in=[t.code for t in ELDER_TILES])
    }
    catalog = reverse("services:catalog")
    links = []
    for tile in ELDER_TILES:
        item = found.get(tile.code)
        url = (
            reverse("services:guide", args=[item.code])
            if item
            else f"{catalog}?{urlencode({'q': tile.search})}"
        )
        links.append(TileLink(tile=tile, url=url, service=item))
    return links


def drafts_to_continue(user: User, *, limit: int = 3):
    """The user's unsubmitted applications, last touched first (through the cases access policy)."""
    if not user.is_authenticated:
        return []
    from cases.models import Channel
    from cases.selectors import my_applications

    # A draft a clerk is filling in at a counter is theirs to finish, not the citizen's.
    drafts = my_applications(user).filter(state=OuterState.DRAFT).exclude(channel=Channel.COUNTER)
    return list(drafts.order_by("-updated_at", "-pk")[:limit])
