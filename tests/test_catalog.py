"""The service catalog: versions, workflows, public pages, search, API and admin scoping."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import Role
from services import catalog
from services.models import (
    LifeEvent,
    ServiceItem,
    ServiceVersion,
    StageKind,
    WorkflowDefinition,
    WorkflowStage,
    WorkflowTransition,
)
from services.workflows import copy_workflow, ensure_standard_template, workflow_problems

from .factories import DepartmentFactory, StaffMembershipFactory, UserFactory, make_service

# --- Versions --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_publishing_freezes_a_version_and_editing_makes_a_new_draft():
    v1 = make_service("T-001", name="食品经营许可")
    item = v1.service
    assert item.status == ServiceItem.Status.PUBLISHED
    assert item.current_version == v1
    # A published version cannot be changed or deleted.
    v1.name = "改名"
    with pytest.raises(ValidationError):
        v1.save()
    with pytest.raises(ValidationError):
        v1.delete()
    with pytest.raises(ValidationError):
        v1.materials.first().save()
    # Editing the service: a new draft copied from v1, invisible to the public until published.
    draft = catalog.start_new_draft(service=item)
    assert (draft.number, draft.state) == (2, ServiceVersion.State.DRAFT)
    assert list(draft.materials.values_list("name", flat=True)) == ["申请书"]
    assert catalog.start_new_draft(service=item) == draft  # one draft at a time
    draft.name = "食品经营许可（新办）"
    draft.promised_limit_days = 5
    draft.save()
    item.refresh_from_db()
    assert item.current_version.name == "食品经营许可"
    catalog.publish_version(version=draft)
    item.refresh_from_db()
    v1.refresh_from_db()
    # What a case filed under v1 points to has not changed.
    assert (v1.name, v1.promised_limit_days, v1.state) == ("食品经营许可", 10, "superseded")
    assert item.current_version.name == "食品经营许可（新办）"


@pytest.mark.django_db
def test_a_version_with_problems_cannot_be_published():
    version = make_service("T-002", publish=False, materials=[])
    with translation.override("en"), pytest.raises(ValidationError) as excinfo:
        catalog.publish_version(version=version)
    assert any("material" in m for m in excinfo.value.messages)
    version.refresh_from_db()
    assert version.state == ServiceVersion.State.DRAFT
    assert version.service.status == ServiceItem.Status.DRAFT


@pytest.mark.django_db
def test_promise_longer_than_statute_is_refused():
    with pytest.raises(ValidationError) as excinfo:
        make_service("T-003", statutory_limit_days=5, promised_limit_days=10)
    assert "promised_limit_days" in excinfo.value.message_dict


@pytest.mark.django_db
def test_invalid_form_schema_is_refused_at_save():
    with pytest.raises(ValidationError) as excinfo:
        make_service(
            "T-004",
            form_schema={"type": "object", "properties": {"x": {"type": "blob", "title": "x"}}},
        )
    assert "form_schema" in excinfo.value.message_dict
    assert not ServiceItem.objects.filter(code="T-004").exists()


# --- Workflows -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_standard_template_is_valid_and_published():
    template = ensure_standard_template()
    assert template.is_published
    assert ensure_standard_template() == template
    assert workflow_problems(template) == []
    names = set(template.transitions.values_list("name", flat=True))
    assert {
        "accept", "not_accept", "request_supplement", "supplement", "suspend", "resume",
        "pass_review", "return_to_intake", "approve", "reject", "conclude", "withdraw",
    } <= names  # fmt: skip


@pytest.mark.django_db
def test_published_workflow_cannot_change():
    template = ensure_standard_template()
    stage = template.stages.first()
    stage.name = "改"
    with pytest.raises(ValidationError):
        stage.save()


@pytest.mark.django_db
def test_unreachable_stage_and_dead_end_are_refused():
    department = DepartmentFactory()
    draft = copy_workflow(definition=ensure_standard_template(), department=department, code="x")
    assert workflow_problems(draft) == []
    # A stage nothing leads to.
    WorkflowStage.objects.create(
        definition=draft, code="orphan", name="孤立环节", kind=StageKind.REVIEW, role=Role.REVIEWER
    )
    # A stage with a way in and no way out.
    trap = WorkflowStage.objects.create(
        definition=draft, code="trap", name="死胡同", kind=StageKind.REVIEW, role=Role.REVIEWER
    )
    WorkflowTransition.objects.create(
        definition=draft,
        name="to_trap",
        label="进入",
        source=draft.stages.get(code="review"),
        target=trap,
        allowed_roles=["reviewer"],
    )
    with translation.override("en"):
        problems = workflow_problems(draft)
    assert any("孤立环节" in p and "cannot be reached" in p for p in problems), problems
    assert any("死胡同" in p and "no path" in p for p in problems), problems
    from services.workflows import publish_workflow

    with pytest.raises(ValidationError):
        publish_workflow(definition=draft)
    draft.refresh_from_db()
    assert draft.status == WorkflowDefinition.Status.DRAFT


@pytest.mark.django_db
def test_workflow_needs_intake_and_end():
    definition = WorkflowDefinition.objects.create(code="empty", name="空流程")
    WorkflowStage.objects.create(
        definition=definition, code="a", name="甲", kind=StageKind.REVIEW, role="reviewer"
    )
    with translation.override("en"):
        problems = workflow_problems(definition)
    assert any("intake" in p for p in problems)
    assert any("end stage" in p for p in problems)


# --- Public pages and API --------------------------------------------------------------------------


@pytest.fixture
def small_catalog(db):
    amr = DepartmentFactory(code="amr", name="市场监督管理局")
    psb = DepartmentFactory(code="psb", name="公安局")
    business = LifeEvent.objects.create(
        code="business", name="开办企业", name_en="Starting a business"
    )
    birth = LifeEvent.objects.create(code="birth", name="出生", name_en="Birth")
    make_service(
        "AMR-1",
        department=amr,
        name="食品经营许可",
        name_en="Food business licence",
        audience="organisation",
        life_events=[business],
    )
    make_service(
        "AMR-2",
        department=amr,
        name="个体工商户设立登记",
        name_en="Sole trader registration",
        audience="both",
        life_events=[business],
        channel_online=False,
    )
    make_service(
        "PSB-1",
        department=psb,
        name="出生登记",
        name_en="Birth registration",
        life_events=[birth],
        fee_free=False,
        fee_standard="工本费 10 元",
    )
    make_service("PSB-2", department=psb, name="未发布事项", publish=False)
    return {"amr": amr, "psb": psb}  # fmt: skip


def codes(response) -> list[str]:
    return [item["code"] for item in response.json()["results"]]


@pytest.mark.django_db
def test_api_lists_published_services_with_filters(client, small_catalog):
    assert codes(client.get("/api/v1/services/")) == ["AMR-1", "AMR-2", "PSB-1"]
    assert codes(client.get("/api/v1/services/", {"department": "psb"})) == ["PSB-1"]
    assert codes(client.get("/api/v1/services/", {"life_event": "business"})) == ["AMR-1", "AMR-2"]
    assert codes(client.get("/api/v1/services/", {"audience": "organisation"})) == [
        "AMR-1",
        "AMR-2",
    ]
    assert codes(client.get("/api/v1/services/", {"audience": "person"})) == ["AMR-2", "PSB-1"]
    assert codes(client.get("/api/v1/services/", {"channel": "online"})) == ["AMR-1", "PSB-1"]
    assert codes(client.get("/api/v1/services/", {"q": "食品"})) == ["AMR-1"]
    assert codes(client.get("/api/v1/services/", {"q": "出生"})) == ["PSB-1"]
    assert codes(client.get("/api/v1/services/", {"q": "licence"})) == ["AMR-1"]
    assert codes(client.get("/api/v1/services/", {"q": "开办企业"})) == ["AMR-1", "AMR-2"]
    assert codes(client.get("/api/v1/services/", {"q": "工商 登记"})) == ["AMR-2"]
    assert codes(client.get("/api/v1/services/", {"q": "不存在的事项"})) == []


@pytest.mark.django_db
def test_api_service_detail_has_every_guide_field_and_a_standard_schema(client, small_catalog):
    body = client.get("/api/v1/services/PSB-1/").json()
    assert body["name"] == "出生登记"
    assert body["fee_free"] is False and body["fee_standard"] == "工本费 10 元"
    assert body["legal_basis"].startswith("《中华人民共和国行政许可法》")
    assert body["statutory_limit_days"] == 20 and body["promised_limit_days"] == 10
    assert body["materials"][0]["source"] == "upload"
    assert set(body["materials"][0]) >= {"id", "name", "required", "source"}
    schema = body["form_schema"]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(schema)
    Draft202012Validator(schema).validate({"applicant_name": "张三", "shop_area": 20})
    assert client.get("/api/v1/services/PSB-2/").status_code == 404  # unpublished
    assert client.get("/api/v1/services/NOPE/").status_code == 404


@pytest.mark.django_db
def test_api_departments(client, small_catalog):
    body = client.get("/api/v1/departments/").json()
    assert {"amr", "psb"} <= {d["code"] for d in body["results"]}


@pytest.mark.django_db
def test_catalog_and_guide_pages(client, small_catalog):
    page = client.get(reverse("services:catalog"), {"q": "出生"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "出生登记" in html and "食品经营许可" not in html
    guide = client.get(reverse("services:guide", args=["PSB-1"]))
    assert guide.status_code == 200
    html = guide.content.decode()
    for expected in (
        "出生登记",
        "工本费 10 元",
        "《中华人民共和国行政许可法》",
        "申请书",
        "公安局",
        "PSB-1",
    ):
        assert expected in html
    assert client.get(reverse("services:guide", args=["PSB-2"])).status_code == 404


def _grow_catalog(department, start: int, count: int):
    event = LifeEvent.objects.get_or_create(code="grow", defaults={"name": "成长"})[0]
    for n in range(start, start + count):
        make_service(f"G-{n:03d}", department=department, name=f"事项{n}", life_events=[event])


@pytest.mark.django_db
def test_catalog_page_and_api_use_constant_queries(
    client, django_assert_max_num_queries, small_catalog
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count(url):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    small = (count("/services/"), count("/api/v1/services/"), count("/services/PSB-1/"))
    _grow_catalog(small_catalog["amr"], 10, 25)
    large = (count("/services/"), count("/api/v1/services/"), count("/services/PSB-1/"))
    assert small == large


# --- Admin scoping ---------------------------------------------------------------------------------


@pytest.fixture
def department_admin(small_catalog, settings):
    from accounts.permissions import ensure_department_admin_group

    user = UserFactory(username="amr-admin", is_staff=True)
    StaffMembershipFactory(user=user, department=small_catalog["amr"], role=Role.DEPARTMENT_ADMIN)
    user.groups.add(ensure_department_admin_group())
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_department_admin_sees_only_their_services(department_admin, small_catalog):
    listing = department_admin.get("/admin/services/serviceitem/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "AMR-1" in html and "PSB-1" not in html
    other = ServiceItem.objects.get(code="PSB-1")
    # Another department's rows answer 404, like every object a user may not see (DESIGN).
    assert (
        department_admin.get(f"/admin/services/serviceitem/{other.pk}/change/").status_code == 404
    )
    other_version = other.current_version
    assert (
        department_admin.get(
            f"/admin/services/serviceversion/{other_version.pk}/change/"
        ).status_code
        == 404
    )


@pytest.mark.django_db
def test_published_version_is_read_only_in_admin_and_drafts_show_schema_errors(department_admin):
    version = ServiceItem.objects.get(code="AMR-1").current_version
    page = department_admin.get(f"/admin/services/serviceversion/{version.pk}/change/")
    assert page.status_code == 200
    assert 'name="name"' not in page.content.decode()  # read-only view
    draft = catalog.start_new_draft(service=version.service)
    url = f"/admin/services/serviceversion/{draft.pk}/change/"
    form = department_admin.get(url)
    assert 'name="name"' in form.content.decode()
    data = {
        field.name: field.value() or ""
        for field in form.context["adminform"].form
        if field.name not in ("life_events",)
    }
    data.update({
        "form_schema": '{"type": "object", "properties": {"x": {"type": "string"}}}',
        "materials-TOTAL_FORMS": "0", "materials-INITIAL_FORMS": "0",
        "materials-MIN_NUM_FORMS": "0", "materials-MAX_NUM_FORMS": "1000",
    })  # fmt: skip
    data = {k: ("on" if v is True else "" if v is False else v) for k, v in data.items()}
    department_admin.cookies["django_language"] = "en"
    response = department_admin.post(url, data)
    assert response.status_code == 200
    assert "needs a label" in response.content.decode()


@pytest.mark.django_db
def test_department_admin_keeps_opinion_phrases_of_their_department(
    department_admin, small_catalog
):
    from cases.models import OpinionPhrase

    OpinionPhrase.objects.create(department=small_catalog["psb"], text="公安局的常用语")
    mine = OpinionPhrase.objects.create(
        department=small_catalog["amr"], text="材料齐全，予以受理。"
    )
    page = department_admin.get("/admin/cases/opinionphrase/")
    assert page.status_code == 200
    html = page.content.decode()
    assert mine.text in html and "公安局的常用语" not in html
    assert department_admin.get("/admin/cases/case/").status_code == 200
