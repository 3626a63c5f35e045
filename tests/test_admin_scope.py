"""Django admin as a department admin uses it (issue 14, item 7): drafts save again and keep their
service, creation times are never asked, every label is Chinese, and `deptadmin` sees and manages
only the staff of their department: no citizen in any list, search, autocomplete or lookup, roles
granted only to their staff, in their departments, and never at or above their own."""

import json
import re
from types import SimpleNamespace

import pytest
from django.forms import CheckboxInput

from accounts.models import Role
from accounts.permissions import ensure_department_admin_group
from services import catalog
from services.models import (
    ServiceItem,
    ServiceVersion,
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
