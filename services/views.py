"""Public catalog pages: browse and search services, read a service guide (办事指南)."""

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from accounts.models import Department
from cases.hall.booking import bookable_centre_services
from portal import caching

from . import bundles as definitions
from . import catalog
from .models import Audience, Bundle, BundleMember, LifeEvent, ServiceItem, localized
from .search import CJK


def _filters(request: HttpRequest) -> dict[str, str]:
    return {
        key: request.GET.get(key, "").strip()[:100]
        for key in ("q", "department", "life_event", "audience", "channel")
    }


def _marked(text: str):
    """What a citizen typed, shown inside a sentence: marked as Chinese when it is (an English page
    reads it with a Chinese voice then)."""
    if (get_language() or "").startswith("en") and CJK.search(text):
        return format_html('<span lang="zh-Hans">{}</span>', text)
    return text


def catalog_page(request: HttpRequest) -> HttpResponse:
    """The catalog: by department, life event and audience, with keyword search. Its body is the
    same for every visitor of a language and display mode: built once per catalog generation."""
    filters = _filters(request)
    page_number = request.GET.get("page", "")[:10]
    key = caching.key_for(
        "catalog-page",
        *caching.generations(caching.CATALOG),
        *caching.variant(request),
        sorted(filters.items()),
        page_number,
    )
    body = caching.cached(key, lambda: _catalog_body(filters, page_number))
    shared = {"body": mark_safe(body)}  # noqa: S308 (our own template's output)
    return caching.render_page(request, "services/catalog.html", {"shared": shared}, key=key)


def _catalog_body(filters: dict[str, str], page_number: str) -> str:
    services = catalog.search_services(**filters)
    page = Paginator(services, 30).get_page(page_number)
    departments = (
        Department.objects.annotate(
            published=Count("services", filter=Q(services__status=ServiceItem.Status.PUBLISHED))
        )
        .filter(published__gt=0)
        .order_by("code")
    )
    context = {
        "filters": filters,
        "page": page,
        "services": page.object_list,
        "departments": departments,
        "life_events": LifeEvent.objects.order_by("order", "code"),
        "audiences": [(a.value, a.label) for a in Audience if a != Audience.BOTH],
        "filtered": any(filters.values()),
        "facet_count": sum(1 for key, value in filters.items() if value and key != "q"),
        "corrected": _marked(getattr(services, "corrected", "")),
        "typed": _marked(filters["q"]),
        "suggestions": getattr(services, "suggestions", []),
        "query_string": urlencode({k: v for k, v in filters.items() if v}),
        "bundles": _bundles_for(filters) if page.number == 1 else [],
    }
    return str(render_to_string("services/catalog_body.html", context))


def _bundles_for(filters: dict[str, str]) -> list[Bundle]:
    """The bundles (一件事) that fit the catalog's filters, shown above the services."""
    if filters["audience"] == Audience.ORGANISATION or filters["channel"] not in ("", "online"):
        return []
    bundles = definitions.published_bundles().annotate(member_count=Count("members"))
    if filters["life_event"]:
        bundles = bundles.filter(life_events__code=filters["life_event"])
    if filters["department"]:
        bundles = bundles.filter(members__service__department__code=filters["department"])
    if filters["q"]:
        q = filters["q"]
        bundles = bundles.filter(
            Q(name__icontains=q) | Q(name_en__icontains=q) | Q(guide__icontains=q)
        )
    members = Prefetch(
        "members",
        queryset=BundleMember.objects.select_related("service__department").order_by("order"),
        to_attr="member_rows",
    )
    found = list(bundles.distinct().order_by("code").prefetch_related(members))
    for bundle in found:  # who takes part, as a filter by department promises
        bundle.departments = list(dict.fromkeys(m.service.department for m in bundle.member_rows))
    return found


def guide_page(request: HttpRequest, code: str) -> HttpResponse:
    """A service's guide (办事指南). Its body is the same for every visitor of a language and
    display mode, signed in or not: built once per catalog generation."""
    signed_in = request.user.is_authenticated
    key = caching.key_for(
        "guide-page",
        *caching.generations(caching.CATALOG),
        *caching.variant(request),
        code,
        signed_in,
    )
    shared = caching.cached(key, lambda: _guide_shared(code, signed_in=signed_in))
    if shared is None:
        retired = catalog.retired_service(code)
        if retired is None:
            raise Http404
        # The old guide URL says what happened and what replaces it (410 Gone), not a bare 404.
        return render(
            request,
            "services/retired.html",
            {"item": retired, "version": retired.current_version},
            status=410,
        )
    shared = {"title": shared["title"], "body": mark_safe(shared["body"])}  # noqa: S308
    return caching.render_page(request, "services/guide.html", {"shared": shared}, key=key)


def _guide_shared(code: str, *, signed_in: bool) -> dict | None:
    """The guide's title and body, or None when no published service has `code`."""
    item = catalog.service_for_guide(code)
    if item is None:
        return None
    version = item.current_version
    context = {
        "item": item,
        "version": version,
        "materials": version.materials.all(),
        "life_events": version.life_events.all(),
        # 预约到厅办理: the centres that take bookings for it (cases/hall/booking.py).
        "booking_centres": bookable_centre_services(item),
        "signed_in": signed_in,
        "LANGUAGE_CODE": get_language(),
    }
    body = str(render_to_string("services/guide_body.html", context))
    return {"title": str(version.label), "body": body}


def material_sample(request: HttpRequest, code: str, material_id: int):
    """The blank form or sample (样表/空表) of a material of a published service, as a download."""
    from cases import uploads

    item = catalog.service_for_guide(code)
    material = (
        next((m for m in item.current_version.materials.all() if m.pk == material_id), None)
        if item
        else None
    )
    if material is None or not material.sample_stored_name:
        raise Http404
    return uploads.stored_download(material.sample_stored_name, material.sample_file_name)


def _guide_context(bundle: Bundle) -> dict:
    members = definitions.members_of(bundle)
    return {
        "bundle": bundle,
        "members": [
            {
                "member": m,
                "version": m.service.current_version,
                "department": localized(m.service.department, "name"),
                "waits_for": [d.waits_for.service.current_version for d in m.waits.all()],
            }
            for m in members
        ],
        "materials": definitions.combined_materials(bundle, members),
        "life_events": bundle.life_events.all(),
    }


def bundle_guide_page(request: HttpRequest, code: str) -> HttpResponse:
    """The bundle's guide (办事指南): its members, departments, waits and materials."""
    bundle = definitions.published_bundles().filter(code=code).first()
    if bundle is None:
        raise Http404
    return render(request, "services/bundle_guide.html", _guide_context(bundle))
