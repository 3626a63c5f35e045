"""A service item as one JSON document (issue 14, item 6): export, import under a new code into the
admin's department, publish, apply, decide; every problem of a bad document named by its path;
retiring with a reason; the same through manage.py."""

import copy
import json

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Role
from cases import workflow
from cases.models import Case, Licence
from services.models import LicenceType, ServiceItem

from . import files
from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    make_service,
)
from .test_engine_custom_workflow import build_inspection_workflow

pytestmark = pytest.mark.django_db


@pytest.fixture
def setting(settings, tmp_path):
    from services.workflows import publish_workflow

    settings.PRIVATE_MEDIA_ROOT = tmp_path
    amr = DepartmentFactory(code="amr", name="市场监督管理局")
    other = DepartmentFactory(code="other-city-amr", name="另一城市市场监督管理局")
    health = DepartmentFactory(code="health", name="卫生健康委员会")
    staff = {
        role: StaffMembershipFactory(department=other, role=role, user__username=f"o-{role}").user
        for role in (Role.CASEWORKER, Role.REVIEWER, Role.APPROVER, Role.DEPARTMENT_ADMIN)
    }
    staff["health"] = StaffMembershipFactory(
        department=health, role=Role.REVIEWER, user__username="h-reviewer"
    ).user
    admin_amr = StaffMembershipFactory(
        department=amr, role=Role.DEPARTMENT_ADMIN, user__username="amr-admin"
    ).user
    licence_type = LicenceType.objects.create(code="food", name="食品经营许可证", issuer=amr)
    definition = publish_workflow(definition=build_inspection_workflow(amr, health))
    service = make_service(
        "AMR-FOOD", department=amr, workflow=definition, result_type="licence",
        licence_type=licence_type, name="食品经营许可",
        materials=[
            {"name": "申请书", "required": True},
            {"name": "营业执照", "required": False, "source": "licence", "licence_type": licence_type},
        ],
    ).service  # fmt: skip
    return service, admin_amr, staff


def api_as(client, user):
    client.force_login(user)
    return client


def test_export_import_publish_apply_decide(setting, client, django_capture_on_commit_callbacks):
    service, admin_amr, staff = setting
    exported = api_as(client, admin_amr).get(f"/api/v1/manage/services/{service.code}/export/")
    assert exported.status_code == 200
    document = exported.json()
    assert document["guide"]["name"] == "食品经营许可"
    assert [m["name"] for m in document["materials"]] == ["申请书", "营业执照"]
    assert {t["outcome"] for t in document["workflow"]["transitions"]} >= {"suspended", "resumed"}

    # Another city's admin imports it under a new code into their own department.
    client.force_login(staff[Role.DEPARTMENT_ADMIN])
    created = client.post(
        "/api/v1/manage/services/?code=OTHER-FOOD", json.dumps(document),
        content_type="application/json",
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["code"], body["department"], body["state"]) == (
        "OTHER-FOOD",
        "other-city-amr",
        "draft",
    )
    assert body["problems_before_publishing"] == []
    assert body["materials"] == document["materials"]
    assert body["form_schema"] == document["form_schema"]
    published = client.post("/api/v1/manage/services/OTHER-FOOD/publish/")
    assert published.status_code == 200, published.json()
    assert published.json()["version"] == 1

    # A citizen applies; staff take it through the imported workflow to the e-licence.
    citizen = CitizenProfileFactory().user
    client.force_login(citizen)
    number = client.post(
        "/api/v1/applications/", {"service": "OTHER-FOOD", "data": {"shop_area": 30}},
        content_type="application/json",
    ).json()["number"]  # fmt: skip
    case = Case.objects.get(number=number)
    required = case.service_version.materials.get(name="申请书")
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.post(
        f"/api/v1/applications/{number}/attachments/",
        {"material": required.pk, "file": SimpleUploadedFile("a.pdf", files.PDF)},
    )
    assert client.post(f"/api/v1/applications/{number}/submit/").status_code == 200
    steps = [("jieshou", staff[Role.CASEWORKER]), ("songshen", staff[Role.REVIEWER]),
             ("huishen_tongguo", staff["health"]), ("tongyi", staff[Role.APPROVER]),
             ("fazheng", staff[Role.CASEWORKER])]  # fmt: skip
    for name, actor in steps:
        client.force_login(actor)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/api/v1/work/cases/{number}/transition/", {"transition": name},
                content_type="application/json",
            )  # fmt: skip
        assert response.status_code == 200, (name, response.json())
    case.refresh_from_db()
    assert case.state == "concluded" and case.department.code == "other-city-amr"
    assert Licence.objects.filter(case=case, licence_type__code="food").exists()


def test_a_bad_document_is_refused_with_every_problem_named(setting, client):
    service, admin_amr, staff = setting
    client.force_login(admin_amr)
    document = client.get(f"/api/v1/manage/services/{service.code}/export/").json()
    bad = copy.deepcopy(document)
    bad["guide"]["statutory_limit_days"] = "twenty"
    bad["guide"]["colour"] = "red"
    bad["licence_type"] = "no-such-licence"
    bad["materials"][1]["licence_type"] = "nope"
    bad["form_schema"]["properties"]["shop_area"]["type"] = "float"
    bad["workflow"]["transitions"][0]["to"] = "nowhere"
    bad["workflow"]["transitions"][1]["roles"] = ["承办人"]
    before = ServiceItem.objects.count()
    response = client.post(
        "/api/v1/manage/services/?code=AMR-FOOD", json.dumps(bad), content_type="application/json"
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    for path in ("code", "guide.statutory_limit_days", "guide.colour", "licence_type",
                 "materials[1].licence_type", "form_schema", "workflow.transitions[0].to",
                 "workflow.transitions[1].allowed_roles"):  # fmt: skip
        assert path in errors, (path, errors)
    assert "caseworker" in " ".join(errors["workflow.transitions[1].allowed_roles"])
    assert ServiceItem.objects.count() == before  # nothing written


def test_only_the_departments_admins_manage_its_services(setting, client):
    service, admin_amr, staff = setting
    client.force_login(staff[Role.DEPARTMENT_ADMIN])  # another department's admin
    assert client.get(f"/api/v1/manage/services/{service.code}/export/").status_code == 404
    assert client.post(f"/api/v1/manage/services/{service.code}/publish/").status_code == 404
    assert service.code not in client.get("/api/v1/manage/services/").content.decode()
    client.force_login(staff[Role.CASEWORKER])  # staff, not an admin
    assert client.get("/api/v1/manage/services/").status_code == 403
    client.force_login(CitizenProfileFactory().user)
    assert (
        client.post("/api/v1/manage/services/", {}, content_type="application/json").status_code
        == 403
    )


def test_publishing_a_draft_whose_workflow_fails_its_checks_names_them(setting, client):
    service, admin_amr, staff = setting
    client.force_login(admin_amr)
    document = client.get(f"/api/v1/manage/services/{service.code}/export/").json()
    document["workflow"]["transitions"] = [
        t for t in document["workflow"]["transitions"] if t["outcome"] != "resumed"
    ]
    created = client.post(
        "/api/v1/manage/services/?code=AMR-FOOD-2", json.dumps(document),
        content_type="application/json",
    )  # fmt: skip
    assert created.status_code == 201
    assert any("赴现场核查" in p for p in created.json()["problems_before_publishing"])
    refused = client.post("/api/v1/manage/services/AMR-FOOD-2/publish/")
    assert refused.status_code == 400
    assert "赴现场核查" in json.dumps(refused.json(), ensure_ascii=False)
    assert ServiceItem.objects.get(code="AMR-FOOD-2").status == "draft"


def test_retiring_says_why_and_what_replaces_it(setting, client):
    service, admin_amr, staff = setting
    successor = make_service(
        "AMR-FOOD-NEW", department=service.department, name="食品经营许可（新）"
    )
    citizen = CitizenProfileFactory().user
    draft, _ = workflow.create_draft(service=service, user=citizen, data={"shop_area": 3})
    client.force_login(admin_amr)
    assert client.post(f"/api/v1/manage/services/{service.code}/retire/", {}).status_code == 400
    retired = client.post(
        f"/api/v1/manage/services/{service.code}/retire/",
        {"reason": "并入“一照通办”改革", "replaced_by": successor.service.code},
    )
    assert retired.status_code == 200 and retired.json()["status"] == "retired"
    page = client.get(f"/services/{service.code}/")
    assert page.status_code == 410
    text = page.content.decode()
    assert "并入“一照通办”改革" in text and f"/services/{successor.service.code}/" in text
    with pytest.raises(Exception) as refused:
        workflow.submit_application(case=draft, user=citizen)
    assert "service" in refused.value.message_dict
    from cases.models import Notification

    told = Notification.objects.get(recipient=citizen, event="service_retired", channel="inbox")
    assert told.context["opinion"] == "并入“一照通办”改革"
    assert told.context["replacement"] == "食品经营许可（新）"


def test_manage_py_exports_and_imports(setting, tmp_path, capsys):
    service, admin_amr, staff = setting
    path = tmp_path / "food.json"
    call_command("export_service", service.code, output=str(path))
    assert json.loads(path.read_text())["code"] == service.code
    call_command(
        "import_service", str(path), code="COPY-FOOD", department="other-city-amr", publish=True
    )
    copied = ServiceItem.objects.get(code="COPY-FOOD")
    assert copied.status == "published" and copied.department.code == "other-city-amr"
    document = json.loads(path.read_text())
    document["materials"][0]["source"] = "fax"
    path.write_text(json.dumps(document))
    with pytest.raises(CommandError, match=r"materials\[0\]\.source"):
        call_command("import_service", str(path), code="COPY-2", department="other-city-amr")


def test_publishing_a_new_draft_is_confirmed_with_its_changes_in_words(setting, client):
    from services import catalog
    from services.models import ServiceMaterial

    service, admin_amr, staff = setting
    draft = catalog.start_new_draft(service=service)
    type(draft).objects.filter(pk=draft.pk).update(promised_limit_days=5)
    ServiceMaterial.objects.create(version=draft, name="平面图", required=False, order=5)
    draft.materials.filter(name="营业执照").delete()
    schema = dict(draft.form_schema)
    schema["properties"] = {
        **schema["properties"],
        "dogs": {"type": "integer", "title": "犬只数量"},
    }
    schema["x-order"] = [*schema["x-order"], "dogs"]
    type(draft).objects.filter(pk=draft.pk).update(form_schema=schema)
    client.force_login(admin_amr)
    changes = client.get(f"/api/v1/manage/services/{service.code}/changes/").json()["changes"]
    text = "\n".join(changes)
    assert "10 → 5" in text  # the promised limit, by its label
    assert "平面图" in text and "营业执照" in text and "犬只数量" in text
    assert len(changes) == 4, changes


def test_the_manage_list_makes_the_same_queries_for_few_items_and_many(setting, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    service, admin_amr, staff = setting
    client.force_login(admin_amr)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/v1/manage/services/").status_code == 200
        return len(ctx.captured_queries)

    count()  # the first request fills the per-account facts (accounts/facts.py): not counted
    few = count()
    for n in range(5):
        make_service(f"AMR-L{n}", department=service.department, publish=n % 2 == 0)
    assert count() == few
