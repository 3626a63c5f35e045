"""One status for the citizen of a bundle (一件事一次办, issue 18): the requests for documents (补正)
of every member case in one place, answered there through the same engine as on the case's own
page (one upload answering every member that asks for the material); one PDF receipt listing every
member case; "my applications" naming each member case's bundle, in a constant number of queries."""

import re
import subprocess

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from cases import workflow
from cases.models import Attachment, BundleApplication, Case, SupplementRequest

from .factories import CitizenProfileFactory
from .test_bundles import (  # noqa: F401 - the bundle world of the bundle API tests
    CERTIFICATE,
    _filed,
    _members,
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


def _ask(case: Case, people, note: str) -> Case:
    """A caseworker of the case's department asks for its copy of the birth certificate."""
    material = case.service_version.materials.get()
    return workflow.request_supplement(
        case=case, actor=people[Role.CASEWORKER], materials=[material], note=note
    )


def _filed_with_requests(client, staff):  # noqa: F811
    body = _filed(client)
    members = _members(body)
    birth = Case.objects.get(number=members["PSB-BIRTH"]["number"])
    insurance = Case.objects.get(number=members["HSA-ENROL"]["number"])
    _ask(birth, staff["psb"], "出生医学证明照片模糊，请重新上传清晰件")
    _ask(insurance, staff["hsa"], "请上传出生医学证明盖章页")
    return body["number"], birth, insurance


def test_every_members_request_shows_and_is_answered_on_the_bundle_page(bundle, client, staff):  # noqa: F811
    number, birth, insurance = _filed_with_requests(client, staff)

    page = client.get(f"/applications/bundles/{number}/").content.decode()
    section = re.search(r'<section[^>]*id="supplements".*?</section>', page, re.S).group(0)
    for text in ("出生登记", "公安局", "出生医学证明照片模糊，请重新上传清晰件",
                 "城乡居民医保参保", "医疗保障局", "请上传出生医学证明盖章页", birth.number,
                 insurance.number):  # fmt: skip
        assert text in section, text
    deadline = birth.supplement_requests.get().deadline.strftime("%Y-%m-%d")
    assert deadline in section
    # Asked by both departments, uploaded once.
    material_ids = re.findall(r'name="material" value="(\d+)"', section)
    assert len(material_ids) == 1

    body = client.get(f"/api/v1/bundle-applications/{number}/").json()
    asked = {s["case"]: s for s in body["supplements"]}
    assert set(asked) == {birth.number, insurance.number}
    assert asked[birth.number]["state"] == "open"
    assert asked[birth.number]["department"] == "psb"
    assert asked[birth.number]["note"] == "出生医学证明照片模糊，请重新上传清晰件"
    assert asked[birth.number]["deadline"] == deadline
    assert asked[insurance.number]["missing"] == [f" {CERTIFICATE} "]

    # Sending with nothing uploaded: told beside the button, in the page, nothing moves.
    response = client.post(
        f"/applications/bundles/{number}/supplements/", {"case": birth.number, "answer": "1"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="bsend-{birth.number}-error"' in page and f'href="#bsend-{birth.number}"' in page
    assert Case.objects.get(pk=birth.pk).state == "supplement_requested"
    # No file chosen: told beside the file input.
    response = client.post(
        f"/applications/bundles/{number}/supplements/", {"material": material_ids[0]}
    )
    assert response.status_code == 400
    assert f'id="bfile-{material_ids[0]}-error"' in response.content.decode()

    # One upload answers both requests: one stored file, one record per member case.
    response = client.post(
        f"/applications/bundles/{number}/supplements/",
        {"material": material_ids[0], "file": _pdf("clear.pdf")},
    )
    assert response.status_code == 302
    uploaded = Attachment.objects.filter(case__in=[birth, insurance], original_name="clear.pdf")
    assert {a.case_id for a in uploaded} == {birth.pk, insurance.pk}
    assert len({a.stored_name for a in uploaded}) == 1
    assert all(a.for_supplement.state == SupplementRequest.State.OPEN for a in uploaded)
    page = client.get(f"/applications/bundles/{number}/").content.decode()
    assert page.count("uploaded, not yet sent") + page.count("已上传，尚未提交") >= 2

    # Sent to 出生登记 from here: it moves on as if answered on its own page.
    response = client.post(
        f"/applications/bundles/{number}/supplements/",
        {"case": birth.number, "answer": "1", "note": "已重新上传"},
    )
    assert response.status_code == 302
    birth.refresh_from_db()
    assert birth.state == "submitted" and birth.paused_since is None
    assert birth.supplement_requests.get().state == SupplementRequest.State.ANSWERED
    answer = birth.events.order_by("-sequence").first()
    assert answer.outcome == "supplement_answered" and answer.opinion == "已重新上传"
    assert Case.objects.get(pk=insurance.pk).state == "supplement_requested"

    # The other through the API.
    response = client.post(
        f"/api/v1/bundle-applications/{number}/supplements/answer/",
        {"cases": [insurance.number]},
        content_type="application/json",
    )
    assert response.status_code == 200, response.json()
    assert Case.objects.get(pk=insurance.pk).state == "submitted"
    assert {s["state"] for s in response.json()["supplements"]} == {"answered"}
    page = client.get(f"/applications/bundles/{number}/").content.decode()
    history = re.search(r'<table[^>]*id="supplement-history".*?</table>', page, re.S).group(0)
    assert "出生登记" in history and "城乡居民医保参保" in history
    assert 'name="answer"' not in page  # nothing open: nothing to send


def test_the_api_answers_with_the_upload_and_refuses_bad_input_with_400(bundle, client, staff):  # noqa: F811
    number, birth, insurance = _filed_with_requests(client, staff)
    body = client.get(f"/api/v1/bundle-applications/{number}/").json()
    material = body["supplements"][0]["materials"][0]["id"]
    base = f"/api/v1/bundle-applications/{number}/supplements/"
    response = client.post(f"{base}attachments/", {"material": 999999, "file": _pdf()})
    assert response.status_code == 400 and "material" in response.json()["errors"]
    response = client.post(f"{base}answer/", {"cases": [birth.number]}, content_type="application/json")  # fmt: skip
    assert response.status_code == 400 and "materials" in response.json()["errors"]
    response = client.post(f"{base}answer/", {"cases": ["NOPE"]}, content_type="application/json")
    assert response.status_code == 400 and "case" in response.json()["errors"]
    response = client.post(f"{base}answer/", {}, content_type="application/json")
    assert response.status_code == 400 and "cases" in response.json()["errors"]

    response = client.post(f"{base}attachments/", {"material": material, "file": _pdf()})
    assert response.status_code == 201
    assert {a["case"] for a in response.json()} == {birth.number, insurance.number}
    response = client.post(
        f"{base}answer/", {"cases": [birth.number, insurance.number], "note": "已补正"},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 200
    assert set(Case.objects.filter(pk__in=[birth.pk, insurance.pk]).values_list("state", flat=True)) == {"submitted"}  # fmt: skip


def test_another_persons_bundle_requests_and_receipt_are_404(bundle, client, staff):  # noqa: F811
    number, birth, _insurance = _filed_with_requests(client, staff)
    material = birth.service_version.materials.get().pk
    stranger = Client()
    stranger.force_login(CitizenProfileFactory().user)
    assert stranger.get(f"/applications/bundles/{number}/").status_code == 404
    assert stranger.get(f"/applications/bundles/{number}/receipt.pdf").status_code == 404
    response = stranger.post(
        f"/applications/bundles/{number}/supplements/", {"material": material, "file": _pdf()}
    )
    assert response.status_code == 404
    assert stranger.post(
        f"/applications/bundles/{number}/supplements/", {"case": birth.number, "answer": "1"}
    ).status_code == 404  # fmt: skip
    assert stranger.get(f"/api/v1/bundle-applications/{number}/").status_code == 404
    assert stranger.get(f"/api/v1/bundle-applications/{number}/receipt.pdf").status_code == 404
    assert stranger.post(
        f"/api/v1/bundle-applications/{number}/supplements/answer/",
        {"cases": [birth.number]}, content_type="application/json",
    ).status_code == 404  # fmt: skip
    assert not Attachment.objects.filter(uploaded_by__isnull=False, case=birth, for_supplement__isnull=False).exists()  # fmt: skip
    assert Case.objects.get(pk=birth.pk).state == "supplement_requested"


def _pdf_text(body: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-", "-"], input=body, capture_output=True, check=True
    ).stdout.decode()


def _save(body: bytes) -> None:
    import os

    if os.environ.get("SAVE_BUNDLE_RECEIPT"):
        with open(os.environ["SAVE_BUNDLE_RECEIPT"], "wb") as handle:
            handle.write(body)


def test_the_pdf_receipt_lists_every_member_case(bundle, client, parent):  # noqa: F811
    body = _filed(client)
    number = body["number"]
    page = client.get(f"/applications/bundles/{number}/").content.decode()
    assert f'href="/applications/bundles/{number}/receipt.pdf"' in page
    receipt_page = client.get(f"/applications/bundles/{number}/receipt/").content.decode()
    assert f'href="/applications/bundles/{number}/receipt.pdf"' in receipt_page

    for url in (f"/applications/bundles/{number}/receipt.pdf",
                f"/api/v1/bundle-applications/{number}/receipt.pdf"):  # fmt: skip
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
        _save(response.content)
        text = re.sub(r"\s+", "", _pdf_text(response.content))  # table cells wrap
        assert number in text
        for member in body["members"]:
            if member["number"]:
                assert member["number"] in text
            assert member["service_name"] in text
        for name in ("公安局", "医疗保障局", "人社局", "王大明", parent.masked_id_number, "10"):
            assert name in text, name
        assert parent.id_number not in text  # masked, never in full


def test_my_applications_link_each_member_to_its_bundle_in_constant_queries(bundle, client):  # noqa: F811
    def count(url):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    first = _filed(client)["number"]
    # The first request caches the account's facts (accounts/facts.py): compare warm requests.
    count("/applications/")
    one = (count("/applications/"), count("/api/v1/applications/"))
    numbers = [first] + [_filed(client)["number"] for _ in range(3)]
    assert (count("/applications/"), count("/api/v1/applications/")) == one

    page = client.get("/applications/").content.decode()
    bundles = re.search(r'<section[^>]*id="my-bundles".*?</section>', page, re.S).group(0)
    for number in numbers:
        assert f'href="/applications/bundles/{number}/"' in bundles
        # Each member case's row links to its bundle (two filed members per bundle now).
        assert page.count(f'class="bundle-link" href="/applications/bundles/{number}/"') == 2
    rows = client.get("/api/v1/applications/").json()["results"]
    assert {r["bundle"]["number"] for r in rows} == set(numbers)
    assert all(r["bundle"]["bundle"] == "YJS-BIRTH" for r in rows)
    assert BundleApplication.objects.count() == 4


def test_the_english_status_page_marks_the_chinese_of_the_requests(bundle, client, staff):  # noqa: F811
    number, _birth, _insurance = _filed_with_requests(client, staff)
    client.cookies["django_language"] = "en"
    page = client.get(
        f"/applications/bundles/{number}/", HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert '<html lang="en' in page
    section = re.search(r'<section[^>]*id="supplements".*?</section>', page, re.S).group(0)
    assert "Requests for more documents" in section
    unmarked = re.sub(r'<span lang="zh-Hans">[^<]*</span>', "", section)
    assert not re.search(r"[\u4e00-\u9fff]", unmarked), re.findall(
        r".{40}[\u4e00-\u9fff]+.{10}", unmarked
    )[:5]
