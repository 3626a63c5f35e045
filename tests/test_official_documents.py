"""Each legal step's official document (行政许可法 §32, §38, §42, §45): issued on its outcome with its
number, made as a sealed PDF in the applicant's language, read back with pdftotext; decisions are
records with the article the decider chose and the applicant's rights, in the API and on the pages;
a document downloaded from the portal passes `verify_document`, a tampered one fails."""

import subprocess

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from accounts.models import Role
from cases import documents, workflow
from cases.models import OfficialDocument
from services.models import LegalArticle

from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    make_service,
)
from .support import clock

Kind = OfficialDocument.Kind
REVIEW_BODY, COURT = "示范市人民政府", "示范市滨江区人民法院"


@pytest.fixture
def office(db, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    department = DepartmentFactory(
        code="amr", name="示范市市场监督管理局", review_body=REVIEW_BODY, court=COURT,
        review_body_en="Demo City People's Government", court_en="Binjiang District Court",
    )  # fmt: skip
    staff = {
        role: StaffMembershipFactory(department=department, role=role).user
        for role in (Role.CASEWORKER, Role.REVIEWER, Role.APPROVER, Role.DEPARTMENT_HEAD)
    }
    service = make_service(
        "DOC-1",
        department=department,
        materials=[
            {
                "name": "营业执照复印件",
                "name_en": "Copy of the business licence",
                "required": False,
            },
            {"name": "场地证明", "name_en": "Proof of premises", "required": False},
        ],
    ).service
    grant = LegalArticle.objects.create(
        service=service, law="《中华人民共和国行政许可法》", article="第三十八条第一款",
        text="申请人的申请符合法定条件、标准的，行政机关应当依法作出准予行政许可的书面决定。",
        law_en="Administrative Licensing Law", article_en="Article 38(1)",
        text_en="Where the application meets the statutory conditions and standards, the "
        "administrative organ shall make a written decision to grant the licence.",
    )  # fmt: skip
    refuse = LegalArticle.objects.create(
        service=service, law="《中华人民共和国行政许可法》", article="第三十八条第二款",
        text="行政机关依法作出不予行政许可的书面决定的，应当说明理由，并告知申请人享有依法申请行政复议"
        "或者提起行政诉讼的权利。",
    )  # fmt: skip
    return service, staff, {"grant": grant.pk, "refuse": refuse.pk}


def new_case(service, **user):
    applicant = CitizenProfileFactory(real_name="王小明", **user)
    case, _ = workflow.create_draft(service=service, user=applicant.user, data={"shop_area": 3})
    return workflow.submit_application(case=case, user=applicant.user)


def act(case, name, actor, opinion="", **details):
    return workflow.apply_transition(
        case=case, name=name, actor=actor, opinion=opinion, details=details
    )


def text_of(pdf: bytes) -> str:
    """What a reader sees, with the line breaks and spaces of the layout taken out."""
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    return "".join(text.split())


def kinds(case) -> list[str]:
    return [d.kind for d in documents.documents_of(case)]


@pytest.mark.django_db
def test_every_step_has_its_document_with_number_basis_and_rights(office):
    service, staff, article = office
    cw, reviewer = staff[Role.CASEWORKER], staff[Role.REVIEWER]
    approver, head = staff[Role.APPROVER], staff[Role.DEPARTMENT_HEAD]
    materials = list(service.current_version.materials.all())
    with clock.at("2026-11-02"):
        asked = workflow.request_supplement(
            case=new_case(service), actor=cw, materials=materials, note="请提供清晰的复印件"
        )
        refused = act(new_case(service), "not_accept", cw, "不属于本部门职权范围", legal_basis=article["refuse"])  # fmt: skip
        case = act(new_case(service), "accept", cw)
        case = act(case, "suspend", reviewer, "组织专家评审")
    with clock.at("2026-11-04"):
        case = act(case, "resume", reviewer, "专家评审完毕")
        case = act(case, "extend", head, "需要现场核查", days=5)
        case = act(case, "pass_review", reviewer, "符合条件")
        granted = act(case, "approve", approver, "符合设立条件", legal_basis=article["grant"])
        rejected = act(
            act(act(new_case(service), "accept", cw), "pass_review", reviewer, "经审查"),
            "reject", approver, "经营场所不符合设立条件", legal_basis=article["refuse"],
        )  # fmt: skip

    assert kinds(asked) == [Kind.RECEIPT, Kind.SUPPLEMENT_NOTICE]
    assert kinds(refused) == [Kind.RECEIPT, Kind.NOT_ACCEPTED_NOTICE]
    assert kinds(granted) == [
        Kind.RECEIPT, Kind.ACCEPTANCE_NOTICE, Kind.SUSPENSION_NOTICE, Kind.EXTENSION_NOTICE,
        Kind.DECISION,
    ]  # fmt: skip
    assert kinds(rejected) == [Kind.RECEIPT, Kind.ACCEPTANCE_NOTICE, Kind.DECISION]

    def made(case, kind) -> tuple[OfficialDocument, str]:
        document = documents.documents_of(case).get(kind=kind)
        text = text_of(documents.make(document))
        assert document.number.replace("-", "") in text.replace("-", "")  # it may wrap at a hyphen
        assert "示范市市场监督管理局" in text and case.number.replace("-", "") in text.replace(
            "-", ""
        )
        return document, text

    receipt, text = made(asked, Kind.RECEIPT)
    assert receipt.number.startswith("AMR-SJ-2026-") and "收件凭证" in text
    assert "不代表已受理" in text and "2026年11月9日前作出受理或补正决定" in text  # 5 working days
    _notice, text = made(asked, Kind.SUPPLEMENT_NOTICE)
    assert "补正材料告知书" in text and "第三十二条" in text and "一次性告知" in text
    assert "营业执照复印件" in text and "场地证明" in text and "请提供清晰的复印件" in text
    assert "2026年11月16日" in text and "视为撤回" in text  # ten working days

    _notice, text = made(refused, Kind.NOT_ACCEPTED_NOTICE)
    assert (
        "不予受理通知书" in text and "不属于本部门职权范围" in text and "第三十八条第二款" in text
    )
    assert (
        f"六十日内向{REVIEW_BODY}申请行政复议" in text
        or f"60日内向{REVIEW_BODY}申请行政复议" in text
    )
    assert f"6个月内向{COURT}提起行政诉讼" in text

    notice, text = made(granted, Kind.ACCEPTANCE_NOTICE)
    assert notice.number.startswith("AMR-SL-2026-") and "受理通知书" in text and "予以受理" in text
    _notice, text = made(granted, Kind.SUSPENSION_NOTICE)
    assert "特别程序告知书" in text and "组织专家评审" in text and "第四十五条" in text
    assert "不计算在办理期限内" in text and "2026年11月2日" in text
    _notice, text = made(granted, Kind.EXTENSION_NOTICE)
    assert "延长办理期限通知书" in text and "第四十二条" in text and "需要现场核查" in text
    assert "经本机关负责人批准" in text and "延长5个工作日" in text
    _notice, text = made(granted, Kind.DECISION)
    assert "准予许可决定书" in text and "符合设立条件" in text and "第三十八条第一款" in text
    assert "应当依法作出准予行政许可的书面决定" in text
    _notice, text = made(rejected, Kind.DECISION)
    assert "不予许可决定书" in text and "经营场所不符合设立条件" in text
    assert "第三十八条第二款" in text and f"向{COURT}提起行政诉讼" in text


@pytest.mark.django_db
def test_a_document_is_in_the_applicants_language_and_made_once(office):
    service, staff, article = office
    case = act(new_case(service, user__preferred_language="en"), "accept", staff[Role.CASEWORKER])
    notice = documents.documents_of(case).get(kind=Kind.ACCEPTANCE_NOTICE)
    first = documents.make(notice)
    text = text_of(first)
    assert "Noticeofacceptance" in text and "Article32" in text and "受理通知书" not in text
    notice.refresh_from_db()
    assert notice.language == "en" and len(notice.sha256) == 64 and notice.file
    assert documents.make(notice) == first  # stored: the same bytes, whoever asks and when


@pytest.mark.django_db
def test_a_decision_names_the_article_chosen_and_the_rights_in_the_api(office):
    service, staff, article = office
    case = act(act(new_case(service), "accept", staff[Role.CASEWORKER]), "pass_review", staff[Role.REVIEWER], "经审查")  # fmt: skip
    approver = Client()
    approver.force_login(staff[Role.APPROVER])
    url = f"/api/v1/work/cases/{case.number}/transition/"
    reject = {"transition": "reject", "opinion": "经营场所不符合设立条件"}
    missing = approver.post(url, reject, content_type="application/json")
    assert missing.status_code == 400 and "legal_basis" in missing.json()["errors"]
    foreign = LegalArticle.objects.create(
        service=make_service("DOC-2").service, law="《个体工商户条例》", article="第八条", text="……"
    )
    wrong = approver.post(
        url, {**reject, "legal_basis": foreign.pk}, content_type="application/json"
    )
    assert wrong.status_code == 400 and "legal_basis" in wrong.json()["errors"]
    staff_view = approver.get(f"/api/v1/work/cases/{case.number}/").json()
    assert [a["id"] for a in staff_view["articles"]] == [article["grant"], article["refuse"]]
    done = approver.post(
        url, {**reject, "legal_basis": article["refuse"]}, content_type="application/json"
    )
    assert done.status_code == 200, done.json()
    assert done.json()["decision"]["outcome"] == "rejected"

    citizen = Client()
    citizen.force_login(case.applicant.user)
    decision = citizen.get(f"/api/v1/applications/{case.number}/").json()["decision"]
    assert decision["outcome"] == "rejected" and decision["reason"] == "经营场所不符合设立条件"
    assert decision["article"] == article["refuse"] and not decision["automated"]
    assert decision["legal_basis"].startswith("《中华人民共和国行政许可法》第三十八条第二款：")
    assert decision["rights"]["review_body"] == REVIEW_BODY and decision["rights"]["court"] == COURT
    assert decision["rights"]["review_days"] == 60 and decision["rights"]["litigation_months"] == 6
    assert REVIEW_BODY in decision["rights"]["text"]
    # Editing the article later does not change what was decided.
    LegalArticle.objects.filter(pk=article["refuse"]).update(text="改过的条文")
    again = citizen.get(f"/api/v1/applications/{case.number}/").json()["decision"]
    assert again["legal_basis"] == decision["legal_basis"]
    # The citizen's page explains it in plain words, with the article and the rights.
    page = citizen.get(f"/applications/{case.number}/").content.decode()
    assert "您的申请未获准予" in page and "第三十八条第二款" in page and COURT in page
    listed = citizen.get(f"/api/v1/applications/{case.number}/documents/").json()
    assert [d["kind"] for d in listed] == ["receipt", "acceptance_notice", "decision"]
    assert listed[-1]["title"] == "不予许可决定书"
    assert set(listed[0]) == {"id", "kind", "title", "number", "issued_at", "url"}
    # Staff see the same list, each with a download they may open.
    staff_docs = approver.get(f"/api/v1/work/cases/{case.number}/").json()["documents"]
    assert [d["number"] for d in staff_docs] == [d["number"] for d in listed]
    assert approver.get(staff_docs[-1]["url"]).status_code == 200


@pytest.mark.django_db
def test_a_downloaded_document_verifies_and_a_tampered_one_does_not(office, tmp_path, capsys):
    service, staff, _article = office
    case = act(new_case(service), "accept", staff[Role.CASEWORKER])
    citizen = Client()
    citizen.force_login(case.applicant.user)
    notice = documents.documents_of(case).get(kind=Kind.ACCEPTANCE_NOTICE)
    pdf = citizen.get(f"/applications/{case.number}/official/{notice.pk}.pdf").content
    genuine = tmp_path / "genuine.pdf"
    genuine.write_bytes(pdf)
    call_command("verify_document", str(genuine))
    assert notice.number in capsys.readouterr().out
    tampered = tmp_path / "tampered.pdf"
    position = pdf.index(b"/Type /Page") + 2  # a byte inside the signed range
    tampered.write_bytes(pdf[:position] + b"X" + pdf[position + 1 :])
    with pytest.raises(CommandError):
        call_command("verify_document", str(tampered))
    # The public page says the same.
    page = Client().post("/verify/", {"file": genuine.open("rb")}).content.decode()
    assert notice.number in page
