"""E-licences with content and a lifecycle (DESIGN "Official documents and decisions"): a licence
certifies the answers its type names, as the applicant saw them; a company's licence is the
company's, its 经办人 sees it while authorised; the head of the issuing department revokes (吊销) or
annuls (撤销) it with a reason the holder is told and /verify/ shows; a change application (变更)
supersedes the holder's earlier licence, which then satisfies no material."""

import datetime as dt
import subprocess

import pytest
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.utils import timezone

from accounts.models import Organisation, OrganisationAgent, Role
from cases import workflow
from cases.licences import services as licences
from cases.models import Case, Event, Licence, Notification
from cases.notifications import services as notifications
from services.models import LicenceType

from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    UserFactory,
    make_service,
)

FORM = {
    "type": "object",
    "required": ["applicant_name", "business_name", "operation", "shop_area"],
    "properties": {
        "applicant_name": {
            "type": "string",
            "maxLength": 30,
            "title": "经营者姓名",
            "x-label": {"zh-hans": "经营者姓名", "en": "Operator's name"},
            "x-prefill": "real_name",
        },
        "business_name": {
            "type": "string",
            "maxLength": 60,
            "title": "名称",
            "x-label": {"zh-hans": "名称", "en": "Name"},
        },
        "operation": {
            "type": "string",
            "enum": ["personal", "family"],
            "title": "组成形式",
            "x-label": {"zh-hans": "组成形式", "en": "Form of operation"},
            "x-enum-labels": {
                "personal": {"zh-hans": "个人经营", "en": "Run by one person"},
                "family": {"zh-hans": "家庭经营", "en": "Run by a family"},
            },
        },
        "shop_area": {
            "type": "number",
            "minimum": 1,
            "maximum": 10000,
            "title": "经营面积（平方米）",
            "x-label": {"zh-hans": "经营面积（平方米）", "en": "Floor area (m²)"},
        },
    },
}
CONTENT_FIELDS = [
    {"field": "business_name", "label": "名称", "label_en": "Name"},
    {"field": "applicant_name", "label": "经营者", "label_en": "Operator"},
    {"field": "operation", "label": "组成形式", "label_en": "Form of operation"},
    {"field": "not_on_the_form", "label": "不在表单上", "label_en": "Not asked"},
]
ANSWERS = {"business_name": "示范市滨江区小明便利店", "operation": "family", "shop_area": 35}


@pytest.fixture
def department(db):
    return DepartmentFactory(code="amr", name="市场监督管理局")


@pytest.fixture
def licence_type(department):
    return LicenceType.objects.create(
        code="shop",
        name="营业执照",
        name_en="Business licence",
        issuer=department,
        content_fields=CONTENT_FIELDS,
    )


def _service(code, department, licence_type, **fields):
    return make_service(
        code,
        department=department,
        name=fields.pop("name", "个体工商户设立登记"),
        audience="both",
        result_type="licence",
        result_name="营业执照",
        licence_type=licence_type,
        form_schema=FORM,
        materials=fields.pop("materials", [{"name": "申请书", "required": False}]),
        **fields,
    ).service


@pytest.fixture
def registration(department, licence_type):
    return _service("AMR-SHOP", department, licence_type)


@pytest.fixture
def change(department, licence_type):
    return _service(
        "AMR-SHOP-CHANGE", department, licence_type, name="个体工商户变更登记",
        replaces_licence=True,
    )  # fmt: skip


@pytest.fixture
def staff(department):
    return {
        role: StaffMembershipFactory(department=department, role=role).user
        for role in (Role.CASEWORKER, Role.REVIEWER, Role.APPROVER, Role.DEPARTMENT_HEAD)
    }


@pytest.fixture
def holder(db):
    return CitizenProfileFactory(user__username="xiaoming", real_name="王小明")


@pytest.fixture
def company(db):
    return Organisation.objects.create(
        uscc="91330100MA2B3C4D5E", name="示范市小明餐饮有限公司", legal_representative="王大明"
    )


def client_for(user, language="en") -> Client:
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = language
    return client


def public(language="en") -> Client:
    client = Client()
    client.cookies["django_language"] = language
    return client


def approved(service, profile, staff, capture, *, organisation=None, data=None) -> Case:
    """File, accept, review and approve; run what follows commit (the licence)."""
    case, _created = workflow.create_draft(
        service=service,
        user=profile.user,
        data=data or ANSWERS,
        organisation_id=organisation.pk if organisation else None,
    )
    case = workflow.submit_application(case=case, user=profile.user)
    case = workflow.apply_transition(case=case, name="accept", actor=staff[Role.CASEWORKER])
    case = workflow.apply_transition(
        case=case, name="pass_review", actor=staff[Role.REVIEWER], opinion="材料齐全"
    )
    with capture(execute=True):
        return workflow.apply_transition(
            case=case, name="approve", actor=staff[Role.APPROVER], opinion="符合条件"
        )


@pytest.fixture
def issued(registration, holder, staff, django_capture_on_commit_callbacks) -> Licence:
    case = approved(registration, holder, staff, django_capture_on_commit_callbacks)
    return Licence.objects.get(case=case)


def pdf_text(content: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-", "-"], input=content, capture_output=True, check=True
    ).stdout.decode()


# --- Content ---------------------------------------------------------------------------------------


def test_the_licence_certifies_the_answers_its_type_names_as_the_applicant_saw_them(issued, holder):
    assert issued.content == [
        {"field": "business_name", "label": "名称", "label_en": "Name",
         "value": "示范市滨江区小明便利店"},
        {"field": "applicant_name", "label": "经营者", "label_en": "Operator", "value": "王小明"},
        {"field": "operation", "label": "组成形式", "label_en": "Form of operation",
         "value": "家庭经营", "value_en": "Run by a family"},
    ]  # fmt: skip
    [entry] = client_for(holder.user, "en").get("/api/v1/licences/").json()["results"]
    assert entry["content"] == [
        {"label": "Name", "value": "示范市滨江区小明便利店"},
        {"label": "Operator", "value": "王小明"},
        {"label": "Form of operation", "value": "Run by a family"},
    ]
    assert entry["holder"] == "王小明" and entry["holder_kind"] == "person"
    assert entry["status"] == "valid" and entry["superseded_by"] is None
    assert entry["revoked_at"] is None and entry["revocation_reason"] == ""
    chinese = client_for(holder.user, "zh-hans").get("/api/v1/licences/").json()["results"][0]
    assert chinese["content"][2] == {"label": "组成形式", "value": "家庭经营"}

    text = pdf_text(client_for(holder.user).get(f"/licences/{issued.number}/pdf/").content)
    assert "示范市滨江区小明便利店" in text and "家庭经营" in text and "经营者" in text
    assert "family" not in text


def test_content_fields_are_checked_in_the_admin(department, db):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = client_for(admin)
    form = {"code": "permit", "name": "许可证", "issuer": department.pk, "validity_years": ""}
    page = client.get("/admin/services/licencetype/add/").content.decode()
    assert "“field” is the name of a field of the service" in page
    bad = client.post(
        "/admin/services/licencetype/add/",
        {**form, "content_fields": '[{"field": "Business Name"}, "scope"]'},
    )
    assert bad.status_code == 200
    html = bad.content.decode()
    assert "Entry 1: “field” is the form field" in html
    assert "Entry 1: give “label”" in html
    assert "Entry 2: write an object" in html
    assert not LicenceType.objects.filter(code="permit").exists()
    not_json = client.post("/admin/services/licencetype/add/", {**form, "content_fields": "[{"})
    assert not_json.status_code == 200 and "Enter a valid JSON" in not_json.content.decode()
    good = client.post(
        "/admin/services/licencetype/add/",
        {**form, "content_fields": '[{"field": "business_name", "label": "名称"}]'},
    )
    assert good.status_code == 302
    assert LicenceType.objects.get(code="permit").content_fields == [
        {"field": "business_name", "label": "名称"}
    ]


# --- Holder ----------------------------------------------------------------------------------------


def test_a_companys_licence_is_the_companys_and_its_agent_is_the_jingbanren(
    registration, holder, company, staff, django_capture_on_commit_callbacks, tmp_path
):
    agency = OrganisationAgent.objects.create(
        organisation=company, user=holder.user, valid_from=dt.date(2020, 1, 1)
    )
    colleague = CitizenProfileFactory(real_name="李同事")
    OrganisationAgent.objects.create(
        organisation=company, user=colleague.user, valid_from=dt.date(2020, 1, 1)
    )
    case = approved(
        registration, holder, staff, django_capture_on_commit_callbacks, organisation=company
    )
    licence = Licence.objects.get(case=case)
    assert licence.holder is None
    assert licence.organisation == company and licence.agent == holder

    # Every current agent of the company finds it in their wallet (page and API).
    for user in (holder.user, colleague.user):
        [entry] = client_for(user).get("/api/v1/licences/").json()["results"]
        assert entry["number"] == licence.number
        assert entry["holder"] == "示范市小明餐饮有限公司"
        assert entry["holder_kind"] == "organisation"
        assert entry["organisation"] == "示范市小明餐饮有限公司"
        assert licence.number in client_for(user).get("/licences/").content.decode()
    text = pdf_text(client_for(colleague.user).get(f"/licences/{licence.number}/pdf/").content)
    assert "持证主体" in text and "示范市小明餐饮有限公司" in text and "91330100MA2B3C4D5E" in text
    assert "经办人" in text and "王小明" in text

    # Someone who is not (or no longer) an agent does not.
    stranger = client_for(CitizenProfileFactory().user)
    assert stranger.get("/api/v1/licences/").json()["results"] == []
    assert stranger.get(f"/licences/{licence.number}/pdf/").status_code == 404
    agency.valid_until = timezone.localdate() - dt.timedelta(days=1)
    agency.valid_from = agency.valid_until - dt.timedelta(days=30)
    agency.save()
    assert client_for(holder.user).get("/api/v1/licences/").json()["results"] == []

    # In public: the company by name and code; the 经办人 never.
    html = public().get(f"/verify/{licence.verification_code}/").content.decode()
    assert "示范市小明餐饮有限公司" in html and "91330100MA2B3C4D5E" in html
    assert "王小明" not in html and "王*明" not in html
    assert holder.id_number not in html

    # What it certifies is on it; the sealed certificate verifies as issued.
    assert [row["label"] for row in licence.content][:1] == ["名称"]
    licence.refresh_from_db()
    assert len(licence.sha256) == 64  # made and stored when first downloaded
    path = tmp_path / "licence.pdf"
    with licence.file.open("rb") as handle:
        path.write_bytes(handle.read())
    call_command("verify_document", str(path))
    # The head revokes it: /verify/ and the signed QR code say so, with the date and reason.
    head = client_for(staff[Role.DEPARTMENT_HEAD])
    reason = "以欺骗手段取得，依法撤销"
    done = head.post(
        f"/api/v1/work/licences/{licence.number}/revoke/",
        {"kind": "annulled", "reason": reason},
        "application/json",
    )
    assert done.status_code == 200 and done.json()["status"] == "annulled"
    today = timezone.localdate().isoformat()
    html = public("zh-hans").get(f"/verify/{licence.verification_code}/").content.decode()
    assert "该证照已撤销" in html and reason in html and today in html
    qr = licences.qr_url(RequestFactory().get("/"), licence)
    page = public().get(qr[qr.index("/verify/") :]).content.decode()
    assert "Genuine, but this licence has been annulled." in page
    assert licence.number in page and reason in page and today in page


def test_a_company_case_uses_the_companys_licences_and_a_personal_case_the_persons(
    department, licence_type, registration, holder, company, staff,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    OrganisationAgent.objects.create(
        organisation=company, user=holder.user, valid_from=dt.date(2020, 1, 1)
    )
    approved(registration, holder, staff, django_capture_on_commit_callbacks, organisation=company)
    later = make_service(
        "AMR-LATER", department=department, audience="both",
        materials=[{"name": "营业执照", "required": True, "source": "licence",
                    "licence_type": licence_type}],
    ).service  # fmt: skip
    for_company, _ = workflow.create_draft(
        service=later, user=holder.user, organisation_id=company.pk, data={"shop_area": 5}
    )
    personal, _ = workflow.create_draft(service=later, user=holder.user, data={"shop_area": 5})
    assert workflow.missing_materials(for_company) == []
    assert [m.name for m in workflow.missing_materials(personal)] == ["营业执照"]


# --- Revoking and annulling ------------------------------------------------------------------------


def test_the_head_revokes_a_licence_through_the_api(issued, holder, staff):
    url = f"/api/v1/work/licences/{issued.number}/revoke/"
    caseworker = client_for(staff[Role.CASEWORKER])
    refused = caseworker.post(url, {"kind": "revoked", "reason": "无证经营"}, "application/json")
    assert refused.status_code == 403
    head = client_for(staff[Role.DEPARTMENT_HEAD])
    empty = head.post(url, {"kind": "revoked", "reason": "  "}, "application/json")
    assert empty.status_code == 400 and "reason" in empty.json()["errors"]
    wrong = head.post(url, {"kind": "cancelled", "reason": "x"}, "application/json")
    assert wrong.status_code == 400 and "kind" in wrong.json()["errors"]
    assert (
        head.post("/api/v1/work/licences/NO-SUCH/revoke/", {}, "application/json").status_code
        == 404
    )
    issued.refresh_from_db()
    assert issued.revoked_at is None

    reason = "超范围经营，情节严重，依法吊销"
    done = head.post(url, {"kind": "revoked", "reason": reason}, "application/json")
    assert done.status_code == 200, done.json()
    body = done.json()
    assert body["number"] == issued.number and body["status"] == "revoked"
    assert body["revocation_reason"] == reason and body["revoked_at"]
    issued.refresh_from_db()
    assert issued.revocation_kind == "revoked" and issued.revoked_by == staff[Role.DEPARTMENT_HEAD]
    today = timezone.localdate().isoformat()

    event = Event.objects.get(case=issued.case, action="licence_revoked")
    assert event.opinion == reason and event.actor == staff[Role.DEPARTMENT_HEAD]
    assert event.details["licence"] == issued.number
    timeline = client_for(holder.user).get(f"/applications/{issued.case.number}/").content.decode()
    assert "E-licence revoked" in timeline and reason in timeline

    # The holder is told, in their language, with the number, the reason and the date.
    inbox = Notification.objects.get(
        event="licence_revoked", recipient=holder.user, channel="inbox"
    )
    assert notifications.deliver(inbox.pk) == "sent"
    inbox.refresh_from_db()
    assert "吊销" in inbox.subject
    assert issued.number in inbox.body and reason in inbox.body and today in inbox.body
    assert "营业执照" in inbox.body
    assert Notification.objects.filter(event="licence_revoked", channel="sms").exists()

    html = public().get(f"/verify/{issued.verification_code}/").content.decode()
    assert "This licence has been revoked." in html and "is valid" not in html
    assert today in html and reason in html
    assert client_for(holder.user).get("/api/v1/licences/").json()["results"][0]["status"] == (
        "revoked"
    )

    again = head.post(url, {"kind": "annulled", "reason": "再次"}, "application/json")
    assert again.status_code == 409
    assert Event.objects.filter(case=issued.case, action__startswith="licence_").count() == 1


def test_the_head_annuls_a_licence_from_the_staff_case_page(issued, holder, staff):
    case_url = f"/work/{issued.case.number}/"
    caseworker = client_for(staff[Role.CASEWORKER]).get(case_url).content.decode()
    assert issued.number in caseworker and "Certificate" in caseworker
    assert "End the licence" not in caseworker  # only the head sees the form
    pdf = client_for(staff[Role.CASEWORKER]).get(
        f"/work/{issued.case.number}/licences/{issued.number}/pdf/"
    )
    assert pdf.status_code == 200 and issued.number in pdf_text(pdf.content)
    forged = client_for(staff[Role.CASEWORKER]).post(
        f"/work/{issued.case.number}/licences/{issued.number}/revoke/",
        {"kind": "annulled", "reason": "伪造"},
    )
    assert forged.status_code == 302
    issued.refresh_from_db()
    assert issued.revoked_at is None

    head = client_for(staff[Role.DEPARTMENT_HEAD])
    page = head.get(case_url).content.decode()
    assert "End the licence" in page and 'value="annulled"' in page
    url = f"/work/{issued.case.number}/licences/{issued.number}/revoke/"
    empty = head.post(url, {"kind": "annulled", "reason": ""}, follow=True).content.decode()
    assert "Give the reason" in empty
    reason = "以欺骗手段取得许可（行政许可法第六十九条）"
    head.post(url, {"kind": "annulled", "reason": reason})
    issued.refresh_from_db()
    assert issued.revocation_kind == "annulled" and issued.revocation_reason == reason
    assert Event.objects.filter(
        case=issued.case, action="licence_annulled", opinion=reason
    ).exists()
    page = head.get(case_url).content.decode()
    assert "End the licence" not in page and "annulled" in page

    html = public().get(f"/verify/{issued.verification_code}/").content.decode()
    assert "This licence has been annulled." in html and "Annulled on" in html
    assert timezone.localdate().isoformat() in html and reason in html
    inbox = Notification.objects.get(
        event="licence_revoked", recipient=holder.user, channel="inbox"
    )
    notifications.deliver(inbox.pk)
    inbox.refresh_from_db()
    assert "撤销" in inbox.subject and "吊销" not in inbox.body
    api = client_for(staff[Role.DEPARTMENT_HEAD]).post(
        f"/api/v1/work/licences/{issued.number}/revoke/",
        {"kind": "revoked", "reason": "x"},
        "application/json",
    )
    assert api.status_code == 409


def test_the_citizens_case_page_links_to_its_licence(issued, holder):
    page = client_for(holder.user).get(f"/applications/{issued.case.number}/").content.decode()
    assert issued.number in page
    assert f'href="/licences/{issued.number}/pdf/"' in page
    assert f'href="/verify/{issued.verification_code}/"' in page


# --- Superseding -----------------------------------------------------------------------------------


def test_a_change_application_supersedes_the_earlier_licence(
    department, licence_type, registration, change, holder, staff,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    first = Licence.objects.get(
        case=approved(registration, holder, staff, django_capture_on_commit_callbacks)
    )
    someone_else = Licence.objects.get(
        case=approved(registration, CitizenProfileFactory(), staff,
                      django_capture_on_commit_callbacks)
    )  # fmt: skip
    changed = approved(
        change, holder, staff, django_capture_on_commit_callbacks,
        data={**ANSWERS, "business_name": "示范市滨江区小明超市"},
    )  # fmt: skip
    second = Licence.objects.get(case=changed)
    first.refresh_from_db()
    assert first.superseded_by == second and first.superseded_at is not None
    assert second.content[0]["value"] == "示范市滨江区小明超市"
    someone_else.refresh_from_db()
    assert someone_else.superseded_at is None  # another holder's licence is not touched
    event = Event.objects.get(case=first.case, action="licence_superseded")
    assert event.details == {
        "licence": first.number, "superseded_by": second.number, "case": changed.number
    }  # fmt: skip

    html = public().get(f"/verify/{first.verification_code}/").content.decode()
    assert f"This licence has been replaced by licence {second.number}." in html
    assert "is valid" not in html
    assert (
        "This licence is valid."
        in public().get(f"/verify/{second.verification_code}/").content.decode()
    )
    wallet = client_for(holder.user).get("/api/v1/licences/").json()["results"]
    assert [(e["number"], e["status"], e["superseded_by"]) for e in wallet] == [
        (second.number, "valid", None),
        (first.number, "superseded", second.number),
    ]
    # The head cannot revoke what has ended already.
    ended = client_for(staff[Role.DEPARTMENT_HEAD]).post(
        f"/api/v1/work/licences/{first.number}/revoke/",
        {"kind": "revoked", "reason": "x"},
        "application/json",
    )
    assert ended.status_code == 409

    # A later application takes the new licence; the superseded one satisfies nothing.
    later = make_service(
        "AMR-LATER", department=department,
        materials=[{"name": "营业执照", "required": True, "source": "licence",
                    "licence_type": licence_type}],
    ).service  # fmt: skip
    draft, _ = workflow.create_draft(service=later, user=holder.user, data={"shop_area": 5})
    assert workflow.held_licences(draft)[licence_type.pk] == second
    assert workflow.missing_materials(draft) == []
    client_for(staff[Role.DEPARTMENT_HEAD]).post(
        f"/api/v1/work/licences/{second.number}/revoke/",
        {"kind": "revoked", "reason": "吊销"},
        "application/json",
    )
    assert licence_type.pk not in workflow.held_licences(draft)
    assert [m.name for m in workflow.missing_materials(draft)] == ["营业执照"]


def test_the_wallet_api_does_not_query_per_licence(
    registration, holder, staff, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    approved(registration, holder, staff, django_capture_on_commit_callbacks)
    client = client_for(holder.user)
    client.get("/api/v1/licences/")
    with django_assert_max_num_queries(12) as one:
        client.get("/api/v1/licences/")
    for _ in range(3):
        approved(registration, holder, staff, django_capture_on_commit_callbacks)
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert client.get("/api/v1/licences/").json()["count"] == 4
