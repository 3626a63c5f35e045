"""The service designer (/manage/, issue 14): scoped to the admin's department, a new item from the
legally required fields, the guide with English twins, materials, publishing with the changes in
words, retiring."""

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Role
from services.models import LicenceType, ServiceItem

from . import files
from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    make_service,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(db):
    department = DepartmentFactory(code="pol", name="公安局")
    return StaffMembershipFactory(
        department=department, role=Role.DEPARTMENT_ADMIN, user__username="pol-admin"
    ).user


NEW = {
    "code": "330100-GA-XK-012", "name": "养犬登记证核发", "kind": "licensing", "audience": "person",
    "legal_basis": "《示范市养犬管理条例》第十二条", "conditions": "年满十八周岁，有固定住所。",
    "statutory_limit_days": "20", "promised_limit_days": "5", "result_type": "licence",
    "result_name": "养犬登记证",
}  # fmt: skip


def test_an_admin_builds_and_publishes_a_service_without_code(admin, client):
    department = admin.memberships.get().department
    LicenceType.objects.create(code="dog", name="养犬登记证", issuer=department)
    client.force_login(admin)
    assert client.get("/manage/").status_code == 200
    refused = client.post("/manage/new/", {**NEW, "code": "狗 证"})
    assert refused.status_code == 400 and "330100-GA-XK-012" in refused.content.decode()
    response = client.post("/manage/new/", {**NEW, "department": department.pk})
    assert response.status_code == 302 and response["Location"] == f"/manage/{NEW['code']}/"
    item = ServiceItem.objects.get(code=NEW["code"])
    page = client.get(f"/manage/{item.code}/").content.decode()
    assert "电子证照类型" in page  # a licence is the result, but which one is not said yet
    guide = client.get(f"/manage/{item.code}/guide/")
    assert guide.status_code == 200 and 'name="legal_basis_en"' in guide.content.decode()
    draft = item.versions.get()
    data = _initial(guide)
    data.update(licence_type=LicenceType.objects.get(code="dog").pk, name_en="Dog licence",
                legal_basis_en="Regulations on dog keeping, art. 12")  # fmt: skip
    saved = client.post(f"/manage/{item.code}/guide/", data)
    assert saved.status_code == 302, saved.content.decode()[:2000]
    draft.refresh_from_db()
    assert (draft.name_en, draft.licence_type.code) == ("Dog licence", "dog")
    materials = {
        "m-TOTAL_FORMS": "1", "m-INITIAL_FORMS": "0", "m-0-name": "犬只免疫证明",
        "m-0-required": "on", "m-0-form": "electronic", "m-0-copies": "1", "m-0-source": "upload",
    }  # fmt: skip
    assert client.post(f"/manage/{item.code}/materials/", materials).status_code == 302
    assert draft.materials.get().name == "犬只免疫证明"
    overview = client.get(f"/manage/{item.code}/").content.decode()
    assert "First publication" in overview or "首次发布" in overview
    assert client.post(f"/manage/{item.code}/publish/", {}).status_code == 302  # not confirmed
    item.refresh_from_db()
    assert item.status == "draft"
    assert "申请表至少需要一个字段" in overview  # what stops it, said before anyone tries
    client.post(f"/manage/{item.code}/publish/", {"confirm": "1"})
    item.refresh_from_db()
    assert item.status == "draft"
    # The first form field, through the catalog service the form builder uses.
    from services import catalog

    catalog.update_draft(
        version=draft,
        fields={"form_schema": {"type": "object", "required": ["dog_name"],
                                "properties": {"dog_name": {"type": "string", "title": "犬名"}}}},
    )  # fmt: skip
    client.post(f"/manage/{item.code}/publish/", {"confirm": "1"})
    item.refresh_from_db()
    assert item.status == "published" and item.current_version.workflow.is_published
    assert client.get(f"/services/{item.code}/").status_code == 200


def _errors(response):
    """What the page said was wrong, for a failing assertion's message."""
    form = response.context.get("form") if response.context else None
    return response.status_code, form.errors if form is not None else None


def _initial(response) -> dict:
    """The values a person would send back unchanged: the bound form's initial data."""
    form = response.context["form"]
    values = {}
    for name in form.fields:
        value = form[name].value()
        if value is None:
            continue
        if isinstance(value, bool):
            if value:
                values[name] = "on"
            continue
        values[name] = value
    return values


def test_other_departments_items_and_citizens_get_nothing(admin, client):
    other = make_service("OTHER-1", department=DepartmentFactory(code="else"))
    client.force_login(admin)
    assert client.get(f"/manage/{other.service.code}/").status_code == 404
    assert client.get(f"/manage/{other.service.code}/guide/").status_code == 404
    assert other.service.code not in client.get("/manage/").content.decode()
    client.force_login(CitizenProfileFactory().user)
    assert client.get("/manage/").status_code == 404
    client.force_login(StaffMembershipFactory(role=Role.CASEWORKER).user)
    assert client.get("/manage/").status_code == 404


def test_a_maintainer_edits_that_one_item_only(admin, client):
    from guardian.shortcuts import assign_perm

    department = admin.memberships.get().department
    mine = make_service("POL-1", department=department, publish=False)
    theirs = make_service("POL-2", department=department, publish=False)
    maintainer = StaffMembershipFactory(department=department, role=Role.CASEWORKER).user
    assign_perm("services.maintain_serviceitem", maintainer, mine.service)
    client.force_login(maintainer)
    assert client.get("/manage/POL-1/guide/").status_code == 200
    assert client.get("/manage/POL-2/").status_code == 404
    assert client.get("/manage/new/").status_code == 404
    assert theirs.service.code not in client.get("/manage/").content.decode()


def _post_form(client, url, prefix, fields):
    return client.post(url, {f"{prefix}-{k}": v for k, v in fields.items()})


def test_the_workflow_editor_adds_a_field_inspection_with_its_own_pause(admin, client):
    from services.models import WorkflowStage

    department = admin.memberships.get().department
    client.force_login(admin)
    client.post("/manage/new/", {**NEW, "result_type": "approval", "department": department.pk})
    code = NEW["code"]
    page = client.get(f"/manage/{code}/workflow/").content.decode()
    assert "<svg" in page and "受理" in page and 'name="source"' in page
    # A new item starts on its own copy of the standard workflow, editable at once; starting
    # again from the template gives a fresh copy.
    draft = ServiceItem.objects.get(code=code).versions.get()
    first = draft.workflow
    assert not first.is_published and first.department == department
    template = first.copied_from
    assert client.post(f"/manage/{code}/workflow/copy/", {"source": template.pk}).status_code == 302
    draft.refresh_from_db()
    definition = draft.workflow
    assert definition.pk != first.pk and not definition.is_published

    added = _post_form(client, f"/manage/{code}/workflow/stages/", "new-stage", {
        "name": "现场核查", "name_en": "Inspection", "code": "inspection", "kind": "review",
        "role": "reviewer", "department_rule": "service", "time_share": "0",
    })  # fmt: skip
    assert added.status_code == 302
    inspection = definition.stages.get(code="inspection")
    review = definition.stages.get(code="review")
    decision = definition.stages.get(code="decision")
    move = definition.transitions.get(name="pass_review")
    edited = _post_form(client, f"/manage/{code}/workflow/transitions/{move.pk}/", f"t{move.pk}", {
        "label": "审查通过，转现场核查", "name": "pass_review", "source": review.pk,
        "target": inspection.pk, "outcome": "passed", "allowed_roles": ["reviewer"],
        "opinion_required": "on",
    })  # fmt: skip
    assert edited.status_code == 302
    for fields in [
        {"label": "核查合格", "name": "inspected", "source": inspection.pk, "target": decision.pk,
         "outcome": "passed", "allowed_roles": ["reviewer"]},
        {"label": "赴现场核查", "name": "go_inspect", "source": inspection.pk, "target": "",
         "outcome": "suspended", "allowed_roles": ["reviewer"], "effects": ["notify_applicant"]},
    ]:  # fmt: skip
        response = _post_form(
            client, f"/manage/{code}/workflow/transitions/", "new-transition", fields
        )
        assert response.status_code == 302, _errors(response)
    page = client.get(f"/manage/{code}/workflow/").content.decode()
    assert "赴现场核查" in page and "恢复办理" in page  # the pause without a way out, said in place
    # A wrong combination is refused on the form, with the valid ones named.
    wrong = _post_form(client, f"/manage/{code}/workflow/transitions/", "new-transition", {
        "label": "核查结束", "name": "inspection_over", "source": inspection.pk, "target": "",
        "outcome": "resumed", "allowed_roles": ["reviewer"], "effects": ["pause_clock"],
    })  # fmt: skip
    assert wrong.status_code == 302  # saved: the contradiction is a publishing check
    page = client.get(f"/manage/{code}/workflow/").content.decode()
    assert "矛盾" in page
    fix = definition.transitions.get(name="inspection_over")
    _post_form(client, f"/manage/{code}/workflow/transitions/{fix.pk}/", f"t{fix.pk}", {
        "label": "核查结束", "name": "inspection_over", "source": inspection.pk, "target": "",
        "outcome": "resumed", "allowed_roles": ["reviewer"], "effects": ["resume_clock"],
    })  # fmt: skip
    page = client.get(f"/manage/{code}/workflow/").content.decode()
    assert "Before it can be published" not in page and "发布前" not in page
    assert "现场核查" in page.split("<svg", 1)[1].split("</svg>", 1)[0]
    # A duplicate stage code is refused on its form.
    clash = _post_form(client, f"/manage/{code}/workflow/stages/", "new-stage", {
        "name": "又一个", "code": "inspection", "kind": "review", "role": "reviewer",
        "department_rule": "service", "time_share": "0",
    })  # fmt: skip
    assert (
        clash.status_code == 400
        and WorkflowStage.objects.filter(definition=definition).count() == 6
    )


def test_an_admin_names_maintainers_and_adds_licence_types_and_life_events(admin, client):
    department = admin.memberships.get().department
    item = make_service("POL-3", department=department, publish=False).service
    colleague = StaffMembershipFactory(department=department, role=Role.CASEWORKER).user
    outsider = StaffMembershipFactory(role=Role.CASEWORKER).user
    client.force_login(admin)
    assert (
        client.post(f"/manage/{item.code}/maintainers/", {"user": outsider.pk}).status_code == 302
    )
    assert not outsider.has_perm("services.maintain_serviceitem", item)  # not of the department
    client.post(f"/manage/{item.code}/maintainers/", {"user": colleague.pk})
    assert colleague.username in client.get(f"/manage/{item.code}/maintainers/").content.decode()
    client.force_login(colleague)
    assert client.get(f"/manage/{item.code}/").status_code == 200
    assert client.get(f"/manage/{item.code}/maintainers/").status_code == 404  # admins only
    client.force_login(admin)
    client.post(f"/manage/{item.code}/maintainers/", {"user": colleague.pk, "remove": "1"})
    client.force_login(colleague)
    assert client.get(f"/manage/{item.code}/").status_code == 404

    client.force_login(admin)
    other = DepartmentFactory(code="not-mine")
    refused = client.post("/manage/licence-types/", {
        "licence": "1", "code": "dog", "name": "养犬登记证", "issuer": other.pk,
    })  # fmt: skip
    assert refused.status_code == 400
    client.post("/manage/licence-types/", {"licence": "1", "code": "dog", "name": "养犬登记证",
                                           "issuer": department.pk, "validity_years": "1"})  # fmt: skip
    client.post(
        "/manage/licence-types/", {"event": "1", "code": "pets", "name": "养宠物", "order": "9"}
    )
    page = client.get("/manage/licence-types/").content.decode()
    assert "养犬登记证" in page and "养宠物" in page


def test_a_material_carries_a_blank_form_that_applicants_download(
    admin, client, settings, tmp_path
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from services import interchange

    settings.PRIVATE_MEDIA_ROOT = tmp_path
    department = admin.memberships.get().department
    version = make_service("POL-4", department=department, publish=False)
    material = version.materials.get()
    client.force_login(admin)
    base = {"m-TOTAL_FORMS": "1", "m-INITIAL_FORMS": "1", "m-0-id": material.pk,
            "m-0-name": material.name, "m-0-required": "on", "m-0-form": "electronic",
            "m-0-copies": "1", "m-0-source": "upload"}  # fmt: skip
    disguised = SimpleUploadedFile("空表.pdf", b"MZ\x90\x00 not a pdf")
    refused = client.post("/manage/POL-4/materials/", {**base, "m-0-sample": disguised})
    assert refused.status_code in (302, 400)
    material.refresh_from_db()
    assert material.sample_stored_name == ""
    blank = SimpleUploadedFile("养犬登记申请表（空表）.pdf", files.PDF)
    assert client.post("/manage/POL-4/materials/", {**base, "m-0-sample": blank}).status_code == 302
    material.refresh_from_db()
    assert material.sample_file_name == "养犬登记申请表（空表）.pdf"
    interchange.publish_service(item=version.service)
    client.logout()
    guide = client.get("/services/POL-4/").content.decode()
    link = f"/services/POL-4/materials/{material.pk}/sample/"
    assert link in guide
    download = client.get(link)
    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment")
    assert b"".join(download.streaming_content).startswith(b"%PDF")
    assert client.get(f"/services/POL-4/materials/{material.pk + 99}/sample/").status_code == 404


def test_the_keywords_an_admin_gives_find_the_service(admin, client):
    version = make_service("POL-5", department=admin.memberships.get().department,
                           name="养犬登记证核发", keywords="狗证 养狗 犬证")  # fmt: skip
    page = client.get("/services/?q=狗证").content.decode()
    assert version.service.code in page or "养犬登记证核发" in page
    assert "养犬登记证核发" not in client.get("/services/?q=猫证").content.decode()


def test_the_form_builder_makes_the_schema_from_a_palette(admin, client):
    from services.designer import formbuilder
    from services.schema import validate_data

    department = admin.memberships.get().department
    version = make_service("POL-6", department=department, publish=False,
                           form_schema=formbuilder.empty_schema())  # fmt: skip
    client.force_login(admin)
    url = "/manage/POL-6/form/"

    def add(kind, label, required=True, group=None):
        data = {"kind": kind, "label": label, **({"required": "on"} if required else {})}
        if group:
            data["group"] = group
        response = client.post(url + (f"?group={group}" if group else ""), data)
        assert response.status_code == 302, _errors(response)
        return response["Location"].split("/fields/")[1].split("/")[0]

    def edit(name, group=None, **fields):
        response = client.post(f"{url}fields/{name}/" + (f"?group={group}" if group else ""),
                               {**fields, **({"group": group} if group else {})})  # fmt: skip
        assert response.status_code == 302, _errors(response)

    phone = add("text", "联系电话")
    edit(phone, label="联系电话", label_en="Phone", required="on", preset="phone")
    dogs = add("group", "犬只")
    edit(dogs, label="犬只", label_en="Dogs", required="on", min_rows="1", max_rows="3",
         section="犬只信息", section_en="About the dogs")  # fmt: skip
    edit("name", group=dogs, label="犬名", label_en="Dog's name", required="on", preset="plain")
    breed = add("choice", "犬种", group=dogs)
    edit(breed, group=dogs, label="犬种", required="on", widget="radio",
         options="小型犬 | Small\n中型犬 | Medium\n大型犬 | Large")  # fmt: skip
    large = add("yesno", "是否为大型犬", group=dogs)
    edit(large, group=dogs, label="是否为大型犬", required="on")
    cage = add("text", "犬笼规格", group=dogs)
    edit(cage, group=dogs, label="犬笼规格", required="on", preset="plain",
         condition_field=large, condition_values="yes")  # fmt: skip
    agree = add("agree", "本人承诺所填信息真实")
    version.refresh_from_db()
    schema = version.form_schema
    assert schema["x-order"] == [phone, dogs, agree]
    rows = schema["properties"][dogs]["items"]
    assert rows["allOf"][0]["then"] == {"required": [cage]} and cage not in rows["required"]
    data = {phone: "13800138000", agree: True,
            dogs: [{"name": "旺财", breed: "option_1", large: "no"},
                  {"name": "大黄", breed: "option_3", large: "yes", cage: "1.2米"}]}  # fmt: skip
    assert validate_data(schema, data)[dogs][1][cage] == "1.2米"
    with pytest.raises(ValidationError) as refused:
        validate_data(schema, {**data, phone: "12345"})
    assert "13800138000" in str(refused.value)  # the message says how to fix it
    with pytest.raises(ValidationError):
        validate_data(schema, {**data, dogs: [{"name": "大黄", breed: "option_3", large: "yes"}]})
    # Move, duplicate, remove.
    client.post(f"{url}fields/{agree}/up/")
    version.refresh_from_db()
    assert version.form_schema["x-order"] == [phone, agree, dogs]
    client.post(f"{url}fields/{phone}/duplicate/")
    version.refresh_from_db()
    assert len(version.form_schema["x-order"]) == 4
    client.post(f"{url}fields/{large}/remove/?group={dogs}", {"group": dogs})
    version.refresh_from_db()
    rows = version.form_schema["properties"][dogs]["items"]
    assert large not in rows["properties"] and "allOf" not in rows
    # The preview renders the form in both languages; the schema page shows it read-only.
    assert "犬只" in client.get("/manage/POL-6/form/preview/frame/?lang=zh-hans").content.decode()
    english = client.get("/manage/POL-6/form/preview/frame/?lang=en").content.decode()
    assert "Dogs" in english and '<h2 class="form-section">About the dogs</h2>' in english
    assert client.get("/manage/POL-6/form/preview/").status_code == 200
    import html

    shown = html.unescape(client.get("/manage/POL-6/form/schema/").content.decode())
    assert '"additionalProperties": false' in shown


def test_the_designers_list_makes_the_same_queries_for_few_items_and_many(admin, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    department = admin.memberships.get().department
    client.force_login(admin)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/manage/").status_code == 200
        return len(ctx.captured_queries)

    make_service("POL-L1", department=department)
    # The first request caches the account's facts (accounts/facts.py): compare warm requests.
    count()
    few = count()
    for n in range(2, 8):
        make_service(f"POL-L{n}", department=department, publish=n % 2 == 0)
    assert count() == few


def test_the_preview_shows_profile_fields_as_facts_not_inputs(admin, client):
    from services.designer import formbuilder

    schema, name = formbuilder.add_field(None, {"kind": "prefill", "label": "申请人姓名",
                                                "source": "real_name"})  # fmt: skip
    schema, phone = formbuilder.add_field(schema, {"kind": "text", "label": "联系电话"})
    make_service("POL-P", department=admin.memberships.get().department, publish=False,
                 form_schema=schema)  # fmt: skip
    client.force_login(admin)
    page = client.get("/manage/POL-P/form/preview/frame/?lang=zh-hans").content.decode()
    assert f'name="{name}"' not in page and f'name="{phone}"' in page
    facts = page.split('class="card fixed-facts"')[1].split("</dl>")[0]
    assert "申请人姓名" in facts
