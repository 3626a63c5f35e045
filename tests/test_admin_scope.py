"""Django admin as a department admin uses it (issue 14, item 7): drafts save again and keep their
service, creation times are never asked, every label is Chinese, and `deptadmin` sees and manages
only the staff of their department: no citizen in any list, search, autocomplete or lookup, roles
granted only to their staff, in their departments, and never at or above their own."""

import json
import re
from types import SimpleNamespace

import pytest
from django.contrib import admin
from django.contrib.admin.templatetags.admin_list import result_headers
from django.db import connection
from django.forms import CheckboxInput
from django.test.utils import CaptureQueriesContext

from accounts.models import Role, StaffMembership, User
from accounts.permissions import ensure_department_admin_group
from services import catalog
from services.models import (
    LicenceType,
    LifeEvent,
    ServiceItem,
    ServiceVersion,
    WorkflowDefinition,
)
from services.workflows import copy_workflow

from .factories import (
    SIMPLE_SCHEMA,
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    UserFactory,
    logged_in,
    make_service,
)

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def world(db):
    """The demo's people (accounts/demo.py) in two departments."""
    amr = DepartmentFactory(code="city-amr", name="示范市市场监督管理局")
    psb = DepartmentFactory(code="city-psb", name="示范市公安局")
    deptadmin = UserFactory(username="deptadmin", first_name="周管理", is_staff=True)
    StaffMembershipFactory(user=deptadmin, department=amr, role=Role.DEPARTMENT_ADMIN)
    deptadmin.groups.add(ensure_department_admin_group())

    def staff(username, name, department, *roles):
        user = UserFactory(username=username, first_name=name)
        for role in roles:
            StaffMembershipFactory(user=user, department=department, role=role)
        return user

    citizen = CitizenProfileFactory(
        user__username="citizen",
        user__first_name="张小明",
        user__email="citizen@example.com",
        real_name="张小明",
    ).user
    sole_trader = make_service("330100-AMR-DJ-001", department=amr, name="个体工商户设立登记")
    make_service("330100-PSB-001", department=psb, name="户口迁入登记")
    return SimpleNamespace(
        amr=amr,
        psb=psb,
        deptadmin=deptadmin,
        client=logged_in(deptadmin),
        caseworker=staff("caseworker", "王承办", amr, Role.CASEWORKER),
        approver=staff("approver", "钱审批", amr, Role.APPROVER, Role.DEPARTMENT_HEAD),
        psb_caseworker=staff("psb-caseworker", "孙公安", psb, Role.CASEWORKER),
        citizen=citizen,
        root=UserFactory(username="admin", is_staff=True, is_superuser=True),
        sole_trader=sole_trader.service,
    )


def form_data(response) -> dict:
    """What a browser posts back from an admin add or change page, as it was rendered."""
    forms = [response.context["adminform"].form]
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update(
            {management.add_prefix(name): management[name].value() for name in management.fields}
        )
        forms += inline.formset.forms
    for form in forms:
        for bound in form:
            value = bound.value()
            if isinstance(bound.field.widget, CheckboxInput):
                if value:
                    data[bound.html_name] = "on"
            elif value not in (None, []):
                data[bound.html_name] = value
    return data


def errors_of(response) -> str:
    """Every error message the page shows, field and non-field, in one string."""
    form = response.context["adminform"].form
    messages = [str(m) for errors in form.errors.values() for m in errors]
    for inline in response.context["inline_admin_formsets"]:
        messages += [str(m) for errors in inline.formset.errors for v in errors.values() for m in v]
        messages += [str(m) for m in inline.formset.non_form_errors()]
    return " ".join(messages)


# --- Drafts ---------------------------------------------------------------------------------------


def test_a_draft_made_in_admin_saves_again_and_stays_with_its_service(world):
    client = world.client
    data = form_data(client.get("/admin/services/serviceitem/add/"))
    data.update({"code": "330100-AMR-QT-099", "department": world.amr.pk})
    response = client.post("/admin/services/serviceitem/add/", data)
    assert response.status_code == 302, errors_of(response)
    item = ServiceItem.objects.get(code="330100-AMR-QT-099")

    page = client.get("/admin/services/serviceversion/add/")
    assert item in page.context["adminform"].form.fields["service"].queryset
    data = form_data(page)
    data.update({
        "service": item.pk, "name": "养犬登记证核发", "kind": "licensing", "audience": "person",
        "legal_basis": "《示范市养犬管理条例》第十二条", "conditions": "犬只已免疫。",
        "statutory_limit_days": "20", "promised_limit_days": "5", "result_type": "approval",
        "result_name": "养犬登记证", "workflow": world.sole_trader.current_version.workflow_id,
        "form_schema": json.dumps(SIMPLE_SCHEMA),
        "materials-TOTAL_FORMS": "1", "materials-0-order": "0", "materials-0-name": "犬只免疫证明",
        "materials-0-required": "on", "materials-0-form": "electronic", "materials-0-copies": "1",
        "materials-0-source": "upload",
    })  # fmt: skip
    response = client.post("/admin/services/serviceversion/add/", data)
    assert response.status_code == 302, errors_of(response)
    draft = ServiceVersion.objects.get(service=item)
    assert (draft.number, draft.state) == (1, ServiceVersion.State.DRAFT)
    # One draft per service: the add page no longer offers it.
    page = client.get("/admin/services/serviceversion/add/")
    assert item not in page.context["adminform"].form.fields["service"].queryset

    # Saved again, as the page shows it: the service is fixed text, not a drop-down left empty.
    url = f"/admin/services/serviceversion/{draft.pk}/change/"
    page = client.get(url)
    assert "service" not in page.context["adminform"].form.fields
    assert "330100-AMR-QT-099" in page.content.decode()
    data = form_data(page)
    data["promised_limit_days"] = "3"
    response = client.post(url, data)
    assert response.status_code == 302, errors_of(response)
    draft.refresh_from_db()
    assert (draft.service_id, draft.promised_limit_days) == (item.pk, 3)

    # A forged service in the post changes nothing: the draft never moves to the live service.
    data["service"] = world.sole_trader.pk
    assert client.post(url, data).status_code == 302
    draft.refresh_from_db()
    assert draft.service_id == item.pk
    assert world.sole_trader.versions.filter(state=ServiceVersion.State.DRAFT).count() == 0


def test_a_draft_started_from_a_published_version_saves_again(world):
    draft = catalog.start_new_draft(service=world.sole_trader)
    url = f"/admin/services/serviceversion/{draft.pk}/change/"
    page = world.client.get(url)
    data = form_data(page)
    data["name"] = "个体工商户设立登记（新版）"
    response = world.client.post(url, data)
    assert response.status_code == 302, errors_of(response)
    draft.refresh_from_db()
    assert (draft.service_id, draft.name) == (world.sole_trader.pk, "个体工商户设立登记（新版）")


# --- The catalog of other departments -------------------------------------------------------------


def test_other_departments_services_and_workflows_are_not_listed_and_answer_404(world):
    client = world.client
    theirs = ServiceItem.objects.get(code="330100-PSB-001")
    their_workflow = theirs.current_version.workflow
    draft_workflow = copy_workflow(definition=their_workflow, department=world.psb, code="psb-x")

    listing = client.get("/admin/services/serviceitem/").content.decode()
    assert "330100-AMR-DJ-001" in listing and "330100-PSB-001" not in listing
    workflows = client.get("/admin/services/workflowdefinition/").context["cl"].result_list
    assert {w.department_id for w in workflows} <= {world.amr.pk, None}
    for url in (
        f"/admin/services/serviceitem/{theirs.pk}/change/",
        f"/admin/services/serviceversion/{theirs.current_version_id}/change/",
        f"/admin/services/workflowdefinition/{their_workflow.pk}/change/",
        f"/admin/services/workflowdefinition/{draft_workflow.pk}/change/",
        f"/admin/services/workflowdefinition/{draft_workflow.pk}/delete/",
    ):
        assert client.get(url).status_code == 404, url
    found = client.get("/admin/services/serviceitem/", {"q": "户口"}).context["cl"].result_list
    assert list(found) == []


# --- Transitions ----------------------------------------------------------------------------------


def test_transition_roles_and_effects_are_ticked_by_their_labels(world):
    published = world.sole_trader.current_version.workflow
    draft = copy_workflow(definition=published, department=world.amr, code="amr-dog")
    url = f"/admin/services/workflowdefinition/{draft.pk}/change/"
    page = world.client.get(url)
    html = page.content.decode()
    assert 'type="checkbox" name="transitions-0-allowed_roles" value="caseworker"' in html
    assert "承办人" in html and "通知申请人" in html
    assert "[&quot;caseworker&quot;" not in html  # no JSON list to type

    data = form_data(page)
    transition = draft.transitions.order_by("order", "pk").first()
    data["transitions-0-allowed_roles"] = ["caseworker", "counter_clerk"]
    data["transitions-0-effects"] = ["notify_applicant"]
    response = world.client.post(url, data)
    assert response.status_code == 302, errors_of(response)
    transition.refresh_from_db()
    assert (transition.allowed_roles, transition.effects) == (
        ["caseworker", "counter_clerk"],
        ["notify_applicant"],
    )

    data["transitions-0-allowed_roles"] = ["caseworker", "boss"]
    data["transitions-0-effects"] = ["fireworks"]
    message = errors_of(world.client.post(url, data))
    assert "未知角色：boss" in message and "caseworker (承办人)" in message
    assert "未知附带操作：fireworks" in message and "notify_applicant (通知申请人)" in message
    data["transitions-0-allowed_roles"] = []
    assert "请至少勾选一个角色" in errors_of(world.client.post(url, data))
    transition.refresh_from_db()
    assert transition.allowed_roles == ["caseworker", "counter_clerk"]

    # A published workflow reads the same way, by names.
    html = world.client.get(
        f"/admin/services/workflowdefinition/{published.pk}/change/"
    ).content.decode()
    assert "[&quot;" not in html and "承办人" in html


# --- Staff accounts: what a department admin sees -------------------------------------------------


def test_the_user_list_shows_only_the_departments_staff_never_a_citizen(world):
    client = world.client
    listing = client.get("/admin/accounts/user/")
    assert listing.status_code == 200
    shown = {user.username for user in listing.context["cl"].result_list}
    assert shown == {"deptadmin", "caseworker", "approver"}
    html = listing.content.decode()
    assert "citizen@example.com" not in html and "张小明" not in html

    for term in ("张小明", "citizen@example.com", "citizen", "psb-caseworker", "admin"):
        found = client.get("/admin/accounts/user/", {"q": term}).context["cl"].result_list
        assert [u.username for u in found if u.username != "deptadmin"] == [], term
        # The popup lookup of a raw-id or "add another" widget is the same scoped list.
        popup = client.get("/admin/accounts/user/", {"q": term, "_popup": "1", "_to_field": "id"})
        assert not [u for u in popup.context["cl"].result_list if u.username != "deptadmin"]
    # The autocomplete behind the role form's user picker: staff only.
    found = client.get(
        "/admin/autocomplete/",
        {
            "app_label": "accounts",
            "model_name": "staffmembership",
            "field_name": "user",
            "term": "",
        },
    ).json()["results"]
    assert {r["text"] for r in found} == {"deptadmin", "caseworker", "approver"}
    for term in ("张", "citizen", "citizen@example.com"):
        found = client.get(
            "/admin/autocomplete/",
            {"app_label": "accounts", "model_name": "staffmembership", "field_name": "user",
             "term": term},
        ).json()["results"]  # fmt: skip
        assert found == [], term

    for other in (world.citizen, world.psb_caseworker, world.root):
        for page in ("change", "password", "history", "delete"):
            response = client.get(f"/admin/accounts/user/{other.pk}/{page}/")
            assert response.status_code in (403, 404), (other, page)
    assert client.get("/admin/accounts/citizenprofile/").status_code == 403


def test_the_staff_lists_queries_do_not_grow_with_staff(world):
    lists = ("/admin/accounts/user/", "/admin/accounts/staffmembership/")

    def count(url) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert world.client.get(url).status_code == 200
        return len(ctx.captured_queries)

    few = [count(url) for url in lists]
    for n in range(15):
        StaffMembershipFactory(
            user__username=f"clerk{n}", department=world.amr, role=Role.COUNTER_CLERK
        )
    assert [count(url) for url in lists] == few


def test_a_colleagues_page_offers_no_admin_site_flags_and_no_real_name_data(world):
    CitizenProfileFactory(user=world.caseworker)  # a caseworker who is also a citizen
    page = world.client.get(f"/admin/accounts/user/{world.caseworker.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "实名信息" not in html  # the citizen profile inline is a system admin's
    # Also a citizen's account: its password opens their own applications, so it is view-only.
    assert "adminform" in page.context and not page.context["has_change_permission"]

    colleague = UserFactory(username="reviewer", first_name="赵审核")
    StaffMembershipFactory(user=colleague, department=world.amr, role=Role.REVIEWER)
    url = f"/admin/accounts/user/{colleague.pk}/change/"
    page = world.client.get(url)
    fields = page.context["adminform"].form.fields
    assert "is_active" in fields and "email" in fields
    assert not {"is_staff", "is_superuser", "groups", "user_permissions", "date_joined"} & set(
        fields
    )
    data = form_data(page)
    data.update({"email": "zhao@demo.gov.example", "is_superuser": "on", "is_staff": "on"})
    assert world.client.post(url, data).status_code == 302
    colleague.refresh_from_db()
    assert colleague.email == "zhao@demo.gov.example"
    assert not colleague.is_superuser and not colleague.is_staff

    # The head (负责人) ranks above a department admin: their account is view-only.
    url = f"/admin/accounts/user/{world.approver.pk}/change/"
    page = world.client.get(url)
    assert not page.context["has_change_permission"]
    assert "../password/" not in page.content.decode()  # no button to a page that answers 403
    assert world.client.post(url, {"email": "x@example.com"}).status_code == 403
    assert (
        world.client.get(f"/admin/accounts/user/{world.approver.pk}/password/").status_code == 403
    )


# --- Roles ----------------------------------------------------------------------------------------


def grant(client, *, user, department, role):
    return client.post(
        "/admin/accounts/staffmembership/add/",
        {"user": user.pk, "department": department.pk, "role": role},
    )


def test_roles_go_only_to_the_departments_staff_in_its_departments_below_its_own(world):
    client = world.client
    before = StaffMembership.objects.count()
    refusals = [
        (world.citizen, world.amr, Role.CASEWORKER, "不能授予市民账号"),
        (world.psb_caseworker, world.amr, Role.CASEWORKER, "本部门工作人员"),
        (world.caseworker, world.psb, Role.REVIEWER, "只能在您管理的部门内授予角色"),
        (
            world.caseworker,
            world.amr,
            Role.DEPARTMENT_ADMIN,
            "您可以授予的角色：承办人，审核人，审批人，窗口人员",
        ),
        (world.caseworker, world.amr, Role.DEPARTMENT_HEAD, "您可以授予的角色"),
    ]
    for user, department, role, message in refusals:
        response = grant(client, user=user, department=department, role=role)
        assert response.status_code == 200, (user, department, role)
        assert message in errors_of(response), (user, role, errors_of(response))
        assert "citizen" not in response.content.decode()  # the refused account is not named
    assert StaffMembership.objects.count() == before

    page = client.get("/admin/accounts/staffmembership/add/")
    offered = [value for value, _label in page.context["adminform"].form.fields["role"].choices]
    assert Role.DEPARTMENT_ADMIN not in offered and Role.DEPARTMENT_HEAD not in offered
    assert list(page.context["adminform"].form.fields["department"].queryset) == [world.amr]

    response = grant(client, user=world.caseworker, department=world.amr, role=Role.REVIEWER)
    assert response.status_code == 302
    assert world.caseworker.memberships.filter(role=Role.REVIEWER, department=world.amr).exists()
    world.caseworker.refresh_from_db()
    assert not world.caseworker.is_staff  # a reviewer works in the workbench, not the admin site


def test_roles_granted_on_a_colleagues_page_follow_the_same_rules(world):
    url = f"/admin/accounts/user/{world.caseworker.pk}/change/"
    data = form_data(world.client.get(url))
    data.update({
        "memberships-TOTAL_FORMS": "2", "memberships-1-department": world.amr.pk,
        "memberships-1-role": Role.DEPARTMENT_ADMIN,
    })  # fmt: skip
    response = world.client.post(url, data)
    assert response.status_code == 200
    assert "您可以授予的角色" in errors_of(response)
    data["memberships-1-department"] = world.psb.pk
    data["memberships-1-role"] = Role.APPROVER
    assert "只能在您管理的部门内授予角色" in errors_of(world.client.post(url, data))
    assert list(world.caseworker.memberships.values_list("role", flat=True)) == [Role.CASEWORKER]

    data["memberships-1-department"] = world.amr.pk
    assert world.client.post(url, data).status_code == 302
    assert set(world.caseworker.memberships.values_list("role", flat=True)) == {
        Role.CASEWORKER,
        Role.APPROVER,
    }


def test_roles_at_or_above_a_department_admins_are_not_revoked_by_one(world):
    head = world.approver.memberships.get(role=Role.DEPARTMENT_HEAD)
    peer = StaffMembershipFactory(
        user__username="deptadmin2", department=world.amr, role=Role.DEPARTMENT_ADMIN
    )
    for membership in (head, peer):
        url = f"/admin/accounts/staffmembership/{membership.pk}/delete/"
        assert world.client.post(url, {"post": "yes"}).status_code == 403
    response = world.client.post(
        "/admin/accounts/staffmembership/",
        {"action": "delete_selected", "_selected_action": [head.pk, peer.pk], "post": "yes"},
    )
    assert response.status_code == 403
    assert StaffMembership.objects.filter(pk__in=[head.pk, peer.pk]).count() == 2

    clerk = StaffMembershipFactory(
        user__username="clerk", department=world.amr, role=Role.COUNTER_CLERK
    )
    url = f"/admin/accounts/staffmembership/{clerk.pk}/delete/"
    assert world.client.post(url, {"post": "yes"}).status_code == 302
    assert not StaffMembership.objects.filter(pk=clerk.pk).exists()
    # Another department's roles are not even there.
    theirs = world.psb_caseworker.memberships.get()
    assert (
        world.client.get(f"/admin/accounts/staffmembership/{theirs.pk}/change/").status_code == 404
    )


def test_a_department_admin_creates_a_colleague_with_a_first_role(world):
    client = world.client
    new = {
        "username": "newclerk", "usable_password": "true", "first_name": "李窗口",
        "email": "li@demo.gov.example", "password1": "a-Long-and-unusual-passphrase-42",
        "password2": "a-Long-and-unusual-passphrase-42", "department": world.amr.pk,
    }  # fmt: skip
    response = client.post("/admin/accounts/user/add/", {**new, "role": Role.DEPARTMENT_ADMIN})
    assert response.status_code == 200
    assert "您可以授予的角色" in errors_of(response)
    response = client.post(
        "/admin/accounts/user/add/",
        {**new, "role": Role.COUNTER_CLERK, "department": world.psb.pk},
    )
    assert "只能在您管理的部门内授予角色" in errors_of(response)
    assert not User.objects.filter(username="newclerk").exists()

    response = client.post("/admin/accounts/user/add/", {**new, "role": Role.COUNTER_CLERK})
    assert response.status_code == 302, errors_of(response)
    account = User.objects.get(username="newclerk")
    assert (account.is_staff, account.is_superuser, account.first_name) == (False, False, "李窗口")
    assert list(account.memberships.values_list("department__code", "role")) == [
        ("city-amr", Role.COUNTER_CLERK)
    ]
    assert client.get(f"/admin/accounts/user/{account.pk}/change/").status_code == 200


def test_a_system_admin_grants_a_department_admin_role_and_with_it_the_admin_site(world):
    root = logged_in(world.root)
    response = grant(root, user=world.caseworker, department=world.psb, role=Role.DEPARTMENT_ADMIN)
    assert response.status_code == 302
    world.caseworker.refresh_from_db()
    assert world.caseworker.is_staff
    assert world.caseworker.groups.filter(name="department admins").exists()
    membership = world.caseworker.memberships.get(role=Role.DEPARTMENT_ADMIN)
    url = f"/admin/accounts/staffmembership/{membership.pk}/delete/"
    assert root.post(url, {"post": "yes"}).status_code == 302
    world.caseworker.refresh_from_db()
    assert not world.caseworker.is_staff and not world.caseworker.groups.exists()


# --- Creation times -------------------------------------------------------------------------------


def _pages_of_every_admin(world):
    """(url, model admin) of every add page and of one change page per registered model."""
    draft = catalog.start_new_draft(service=world.sole_trader)
    copy_workflow(definition=draft.workflow, department=world.amr, code="amr-pages")
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        yield f"/admin/{opts.app_label}/{opts.model_name}/add/", model_admin
        obj = model.objects.order_by("-pk").first()
        if model is WorkflowDefinition:
            obj = WorkflowDefinition.objects.get(code="amr-pages")
        if obj is not None:
            yield f"/admin/{opts.app_label}/{opts.model_name}/{obj.pk}/change/", model_admin


def test_creation_times_are_never_asked(world):
    root = logged_in(world.root)
    seen = 0
    for url, _model_admin in _pages_of_every_admin(world):
        response = root.get(url)
        if response.status_code != 200 or "adminform" not in (response.context or {}):
            continue
        seen += 1
        forms = [response.context["adminform"].form]
        for inline in response.context["inline_admin_formsets"]:
            forms += [inline.formset.empty_form, *inline.formset.forms]
        asked = {name for form in forms for name in form.fields}
        assert not asked & {"created_at", "date_joined", "updated_at"}, url
    assert seen > 15


# --- Licence types and life events ----------------------------------------------------------------


def test_a_department_admin_adds_licence_types_their_departments_issue(world):
    client = world.client
    data = {
        "code": "dog-licence",
        "name": "养犬登记证",
        "name_en": "Dog licence",
        "validity_years": "1",
    }
    response = client.post("/admin/services/licencetype/add/", {**data, "issuer": world.psb.pk})
    assert response.status_code == 200
    assert "请选择您管理的部门" in errors_of(response)
    assert not LicenceType.objects.filter(code="dog-licence").exists()

    response = client.post("/admin/services/licencetype/add/", {**data, "issuer": world.amr.pk})
    assert response.status_code == 302
    mine = LicenceType.objects.get(code="dog-licence")
    assert mine.issuer == world.amr
    url = f"/admin/services/licencetype/{mine.pk}/change/"
    response = client.post(url, {**data, "name": "养犬登记证（电子）", "issuer": world.amr.pk})
    assert response.status_code == 302
    # Another department's type is listed (a material may reuse it) but not theirs to change.
    theirs = LicenceType.objects.create(code="hukou", name="户口簿", issuer=world.psb)
    assert "户口簿" in client.get("/admin/services/licencetype/").content.decode()
    url = f"/admin/services/licencetype/{theirs.pk}/change/"
    assert not client.get(url).context["has_change_permission"]
    assert client.post(url, {**data, "issuer": world.amr.pk}).status_code == 403
    assert (
        client.post(f"/admin/services/licencetype/{mine.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )


def test_a_department_admin_adds_a_life_event_but_changes_none(world):
    response = world.client.post(
        "/admin/services/lifeevent/add/",
        {"code": "pets", "name": "宠物饲养", "name_en": "Keeping a pet", "order": "20"},
    )
    assert response.status_code == 302
    event = LifeEvent.objects.get(code="pets")
    url = f"/admin/services/lifeevent/{event.pk}/change/"
    assert world.client.post(url, {"code": "pets", "name": "改名", "order": "1"}).status_code == 403


# --- Labels ---------------------------------------------------------------------------------------


def _labels(response) -> list[str]:
    """Every label the admin page shows for a field, column, filter or section."""
    context = response.context
    labels = []
    if "cl" in context:
        cl = context["cl"]
        # (The action column's header is a checkbox, not a word.)
        labels += [h["text"] for h in result_headers(cl) if h["text"] and "<input" not in h["text"]]
        labels += [spec.title for spec in cl.filter_specs]
    if "adminform" in context:
        for fieldset in context["adminform"]:
            labels += [fieldset.name] if fieldset.name else []
            for line in fieldset:
                for field in line:
                    labels.append(field.field["label"] if field.is_readonly else field.field.label)
        for inline in context["inline_admin_formsets"]:
            labels.append(inline.opts.verbose_name_plural)
            for field in inline.fields():
                widget = field["widget"]
                if not (widget["is_hidden"] if isinstance(widget, dict) else widget.is_hidden):
                    labels.append(field["label"])
    return [str(label) for label in labels]


@pytest.mark.parametrize("as_user", ["deptadmin", "admin"])
def test_every_label_of_the_admin_pages_is_chinese(world, as_user):
    client = logged_in(User.objects.get(username=as_user))
    draft = catalog.start_new_draft(service=world.sole_trader)
    workflow = copy_workflow(definition=draft.workflow, department=world.amr, code="amr-labels")
    pages = [
        "/admin/accounts/user/", "/admin/accounts/user/add/",
        f"/admin/accounts/user/{world.caseworker.pk}/change/",
        "/admin/accounts/staffmembership/", "/admin/accounts/staffmembership/add/",
        f"/admin/accounts/staffmembership/{world.caseworker.memberships.get().pk}/change/",
        "/admin/accounts/department/", f"/admin/accounts/department/{world.amr.pk}/change/",
        "/admin/services/serviceitem/", "/admin/services/serviceitem/add/",
        f"/admin/services/serviceitem/{world.sole_trader.pk}/change/",
        "/admin/services/serviceversion/", "/admin/services/serviceversion/add/",
        f"/admin/services/serviceversion/{draft.pk}/change/",
        f"/admin/services/serviceversion/{world.sole_trader.current_version_id}/change/",
        "/admin/services/workflowdefinition/", "/admin/services/workflowdefinition/add/",
        f"/admin/services/workflowdefinition/{workflow.pk}/change/",
        f"/admin/services/workflowdefinition/{draft.workflow_id}/change/",
        "/admin/services/licencetype/", "/admin/services/licencetype/add/",
        "/admin/services/lifeevent/", "/admin/services/lifeevent/add/",
    ]  # fmt: skip
    english = {}
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        if untranslated := [label for label in _labels(response) if not CJK.search(label)]:
            english[url] = untranslated
    assert english == {}
    index = client.get("/admin/").content.decode()
    assert "Model name" not in index and "Add link" not in index
    # The two-box picker of a version's life events speaks Chinese too (Django 5.2's new wording).
    catalog_js = client.get("/admin/jsi18n/").content.decode()
    assert json.dumps("全选%s")[1:-1] in catalog_js and json.dumps("全部移除%s")[1:-1] in catalog_js
