"""The citizen's pages of a bundle (issue 18): found in the catalog and by life event, its guide,
one form (shared fields once, each service's own under its name), each material uploaded once, one
submission, one status listing every member case and one receipt listing every number."""

import re

import pytest
from django.test import Client
from django.utils import translation

from cases.models import BundleApplication, Case

from .test_bundles import (  # noqa: F401 - the bundle world of the bundle API tests
    CERTIFICATE,
    _decide,
    _pdf,
    bundle,
    client,
    departments,
    parent,
    private_media,
    services,
    staff,
)

pytestmark = pytest.mark.django_db

FORM = {
    "child_name": "王小宝",
    "birth_date": "2025-03-01",
    "birth-certificate_number": "A123456789",
    "insurance-category": "newborn",
    "card-bank": "icbc",
}


def _start(client) -> str:  # noqa: F811
    response = client.post("/applications/bundles/new/YJS-BIRTH/")
    assert response.status_code == 302
    return re.search(r"/applications/bundles/([^/]+)/form/", response["Location"]).group(1)


def _material_ids(page: str) -> dict[str, str]:
    """Material name → the id its upload form posts, as the page shows them."""
    found = {}
    for section in re.findall(r'<section class="card material".*?</section>', page, re.S):
        name = re.search(r"<h2[^>]*>([^<]+)", section).group(1).strip()
        ids = re.search(r'name="material" value="(\d+)"', section)
        if ids:
            found[name] = ids.group(1)
    return found


def test_the_catalog_and_the_life_event_list_the_bundle_and_its_guide(bundle):  # noqa: F811
    page = Client().get("/services/?life_event=birth").content.decode()
    assert 'href="/services/bundles/YJS-BIRTH/"' in page and "出生一件事" in page
    assert "YJS-BIRTH" not in Client().get("/services/?life_event=retirement").content.decode()
    assert "YJS-BIRTH" not in Client().get("/services/?audience=organisation").content.decode()
    guide = Client().get("/services/bundles/YJS-BIRTH/").content.decode()
    for name in ("出生登记", "城乡居民医保参保", "社会保障卡申领", CERTIFICATE, "公安局", "人社局"):
        assert name in guide
    assert "“出生登记”" in guide  # the card waits for it
    assert "/accounts/login/?next=" in guide  # signed out: sign in to apply
    assert Client().get("/services/bundles/NOPE/").status_code == 404


def test_apply_once_upload_once_submit_once_and_follow_one_status(bundle, client, staff):  # noqa: F811
    number = _start(client)
    assert _start(client) == number  # the draft is resumed, not doubled
    form = client.get(f"/applications/bundles/{number}/form/").content.decode()
    # Asked once: the child's name, although all three services ask it.
    assert form.count('name="child_name"') == 1
    assert 'name="card-household_number"' not in form  # filled from 出生登记's result
    for heading in ("出生登记", "城乡居民医保参保", "社会保障卡申领"):
        assert f'<h2 class="form-section">{heading}</h2>' in form

    response = client.post(f"/applications/bundles/{number}/form/", {**FORM, "card-bank": "x"})
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.content.decode()
    response = client.post(f"/applications/bundles/{number}/form/", FORM)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"].endswith(f"/applications/bundles/{number}/materials/")
    application = BundleApplication.objects.get(number=number)
    assert application.data["insurance"] == {"category": "newborn"}

    page = client.get(f"/applications/bundles/{number}/materials/").content.decode()
    ids = _material_ids(page)
    assert set(ids) == {CERTIFICATE, "证件照片"}
    # Submitting early names what is missing, and files nothing.
    response = client.post(f"/applications/bundles/{number}/materials/", {"submit": "1"})
    assert response.status_code == 400 and "证件照片" in response.content.decode()
    assert not Case.objects.exists()
    response = client.post(f"/applications/bundles/{number}/materials/", {"material": ids[CERTIFICATE]})  # fmt: skip
    assert response.status_code == 400  # no file chosen
    for name in (CERTIFICATE, "证件照片"):
        response = client.post(
            f"/applications/bundles/{number}/materials/", {"material": ids[name], "file": _pdf()}
        )
        assert response.status_code == 302
    response = client.post(f"/applications/bundles/{number}/materials/", {"submit": "1"})
    assert response["Location"].endswith(f"/applications/bundles/{number}/receipt/")

    receipt = client.get(f"/applications/bundles/{number}/receipt/").content.decode()
    members = {link.service.code: link for link in application.member_cases.select_related("case", "service")}  # fmt: skip
    birth = members["PSB-BIRTH"].case
    assert number in receipt and birth.number in receipt
    assert members["HSA-ENROL"].case.number in receipt
    status = client.get(f"/applications/bundles/{number}/").content.decode()
    assert f'href="/applications/{birth.number}/"' in status
    assert 'data-state="waiting"' in status  # 社会保障卡 waits for 出生登记
    # The form of a submitted bundle is not offered again.
    assert client.get(f"/applications/bundles/{number}/form/")["Location"].endswith(f"/bundles/{number}/")  # fmt: skip

    _decide(birth, staff["psb"])
    status = client.get(f"/applications/bundles/{number}/").content.decode()
    card = BundleApplication.objects.get(number=number).member_cases.get(service__code="HRSS-CARD")
    assert f'href="/applications/{card.case.number}/"' in status
    assert card.case.data["household_number"] == birth.number


def test_another_persons_bundle_pages_are_404(bundle, client):  # noqa: F811
    from .factories import CitizenProfileFactory

    number = _start(client)
    stranger = Client()
    stranger.force_login(CitizenProfileFactory().user)
    for path in ("", "form/", "materials/", "receipt/"):
        assert stranger.get(f"/applications/bundles/{number}/{path}").status_code == 404
    assert Client().get(f"/applications/bundles/{number}/").status_code == 302  # sign in


def test_the_english_pages_mark_their_chinese(bundle, client):  # noqa: F811
    number = _start(client)
    with translation.override("en"):
        client.cookies["django_language"] = "en"
        for url in ("/services/bundles/YJS-BIRTH/", f"/applications/bundles/{number}/form/",
                    f"/applications/bundles/{number}/materials/"):  # fmt: skip
            page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
            assert '<html lang="en' in page, url
            assert '<span lang="zh-Hans">出生' in page, url


def test_the_bundle_is_rated_once_when_every_member_finished(bundle, client, staff):  # noqa: F811
    from accounts.models import Role
    from cases import workflow
    from cases.models import Rating

    from .test_bundles import _filed

    number = _filed(client)["number"]
    application = BundleApplication.objects.get(number=number)
    status = client.get(f"/applications/bundles/{number}/").content.decode()
    assert 'id="bundle-rating"' not in status
    response = client.post(f"/applications/bundles/{number}/rating/", {"score": "5"})
    assert response["Location"].endswith(f"/applications/bundles/{number}/")
    assert not Rating.objects.exists()  # not finished yet: refused

    for service, department in (("PSB-BIRTH", "psb"), ("HSA-ENROL", "hsa"), ("HRSS-CARD", "hrss")):
        case = _decide(application.member_cases.get(service__code=service).case, staff[department])
        if case.state != "concluded":
            workflow.apply_transition(case=case, name="conclude", actor=staff[department][Role.CASEWORKER])  # fmt: skip
    status = client.get(f"/applications/bundles/{number}/").content.decode()
    assert 'id="bundle-rating"' in status and 'name="score"' in status
    response = client.post(f"/applications/bundles/{number}/rating/", {"score": "9"})
    assert not Rating.objects.exists()  # a bad score: nothing recorded
    client.post(f"/applications/bundles/{number}/rating/", {"score": "5", "comment": "一次办好"})
    ratings = Rating.objects.filter(case__bundle_link__application=application)
    assert sorted(r.department.code for r in ratings) == ["hrss", "hsa", "psb"]
    assert {r.score for r in ratings} == {5}
    client.post(f"/applications/bundles/{number}/rating/", {"score": "1"})
    assert Rating.objects.count() == 3  # rated once
    status = client.get(f"/applications/bundles/{number}/").content.decode()
    assert 'id="bundle-rated"' in status and 'name="score"' not in status
