"""Proxies see only what they were given (issue 17 item 4): the applications they file or are named
on and those documents; the principal's earlier documents and e-licences only if the authorisation
shares them (never drafts); the principal's full ID number and phone never."""

import copy
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from cases import workflow
from cases.models import Case, Licence
from services.models import LicenceType, MaterialSource

from .factories import SIMPLE_SCHEMA, CitizenProfileFactory, DepartmentFactory, make_service

PHONE = "13700000001"
SCHEMA = copy.deepcopy(SIMPLE_SCHEMA)
SCHEMA["properties"] |= {
    "id_number": {"type": "string", "title": "身份证号码", "x-prefill": "id_number"},
    "phone": {"type": "string", "title": "联系电话", "x-prefill": "phone"},
}


def png(colour="white") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, format="PNG")
    return SimpleUploadedFile(f"{colour}.png", out.getvalue(), content_type="image/png")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def family(db, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    mother = CitizenProfileFactory(real_name="刘秀英", phone=PHONE)
    son = CitizenProfileFactory(real_name="陈明")
    department = DepartmentFactory(code="civil")
    permit = LicenceType.objects.create(code="permit", name="许可证", issuer=department)
    Licence.objects.create(
        number="PERMIT-1", licence_type=permit, holder=mother, verification_code="v" * 24,
        valid_from="2026-01-01",
    )  # fmt: skip
    service = make_service(
        "P-9", department=department, form_schema=SCHEMA,
        materials=[
            {"name": "照片", "required": True},
            {"name": "许可证", "required": True, "source": MaterialSource.LICENCE,
             "licence_type": permit},
        ],
    ).service  # fmt: skip
    photo = service.current_version.materials.get(name="照片")
    # The mother's own earlier application (submitted) and a draft, each with a photo.
    for colour, submit in (("red", True), ("blue", False)):
        case, _ = workflow.create_draft(service=service, user=mother.user, data={"shop_area": 3})
        workflow.add_attachment(
            case=case, material_id=photo.pk, user=mother.user, upload=png(colour)
        )
        if submit:
            workflow.submit_application(case=case, user=mother.user)
    return mother, son, service


def proxy_case(family, *, shares: bool):
    from accounts import proxies

    mother, son, service = family
    authorisation = proxies.grant(
        principal_user=mother.user, agent_id_number=son.id_number, agent_real_name=son.real_name,
        relationship="child", shares_documents=shares,
    )  # fmt: skip
    case, _ = workflow.create_draft(
        service=service, user=son.user, data={"shop_area": 3}, authorisation=authorisation
    )
    return case


def offered(case, user) -> set[str]:
    return {a.original_name for a in workflow.documents_on_file(case.applicant, besides=case, user=user)}  # fmt: skip


@pytest.mark.django_db
def test_without_sharing_a_proxy_sees_none_of_the_principals_papers(family):
    mother, son, _service = family
    case = proxy_case(family, shares=False)
    assert offered(case, son.user) == set()
    page = client_for(son.user).get(f"/applications/{case.number}/materials/").content.decode()
    assert "red.png" not in page and "blue.png" not in page and "PERMIT-1" not in page
    # The wallet is not opened: the licence material is still missing, to be uploaded.
    assert "许可证" in [m.name for m in workflow.missing_materials(case)]
    # Guessing an id does not help.
    earlier = workflow.documents_on_file(mother)
    api = client_for(son.user)
    refused = api.post(
        f"/api/v1/applications/{case.number}/attachments/",
        {"material": case.service_version.materials.get(name="照片").pk, "document": earlier[0].pk},
    )
    assert refused.status_code == 400 and "document" in refused.json()["errors"]
    # The principal's full ID number and phone never reach the proxy.
    detail = api.get(f"/api/v1/applications/{case.number}/").json()
    assert detail["data"]["id_number"] != mother.id_number and detail["data"]["phone"] != PHONE
    assert mother.id_number not in str(detail) and PHONE not in str(detail)
    # The principal's own applications are not the proxy's.
    own = mother.user
    numbers = [c["number"] for c in api.get("/api/v1/applications/").json()["results"]]
    assert numbers == [case.number]
    for other in Case.objects.filter(applicant=mother).exclude(pk=case.pk):
        assert api.get(f"/api/v1/applications/{other.number}/").status_code == 404
    # The principal sees everything of their own, in full.
    mine = client_for(own).get(f"/api/v1/applications/{case.number}/").json()
    assert mine["data"]["id_number"] == mother.id_number


@pytest.mark.django_db
def test_with_sharing_a_proxy_reuses_submitted_papers_and_the_wallet_but_no_drafts(family):
    mother, son, _service = family
    case = proxy_case(family, shares=True)
    assert offered(case, son.user) == {"red.png"}  # the draft's blue.png stays the mother's
    assert "许可证" not in [m.name for m in workflow.missing_materials(case)]
    # The mother applying herself reuses both.
    own, _ = workflow.create_draft(service=case.service, user=mother.user, data={"shop_area": 3})
    assert offered(own, mother.user) == {"red.png", "blue.png"}
