"""Catalog, workflow, calendar, staff-role and account changes go into the audit log (issue 17, item
8): made in admin, the designer or the API, each names who made it; personal fields are masked; the
log is read-only in admin and shown to system admins only."""

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from rest_framework.test import APIClient

from accounts.models import Role, StaffMembership, User
from services import catalog
from services.models import ServiceItem, ServiceVersion

from . import test_admin_scope, test_designer
from .factories import logged_in

world = test_admin_scope.world  # the demo's people in two departments (a fixture)
form_data = test_admin_scope.form_data
admin = test_designer.admin  # a department admin of 公安局 (a fixture)


def entries_for(model, **filters):
    return LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(model), **filters
    ).order_by("pk")


def test_a_service_changed_in_admin_is_logged_with_the_admin(world):
    draft = catalog.start_new_draft(service=world.sole_trader)
    root = logged_in(world.root)
    url = f"/admin/services/serviceversion/{draft.pk}/change/"
    data = form_data(root.get(url))
    data["name"] = "个体工商户设立登记（新）"
    response = root.post(url, data)
    assert response.status_code == 302, test_admin_scope.errors_of(response)
    entry = entries_for(ServiceVersion, object_pk=str(draft.pk)).last()
    assert entry.action == LogEntry.Action.UPDATE
    assert entry.actor == world.root
    assert entry.changes_dict["name"] == ["个体工商户设立登记", "个体工商户设立登记（新）"]
    assert entry.actor_email is None  # the actor's e-mail is not copied into the log


def test_a_service_made_in_the_designer_is_logged_with_its_maker(admin, client):
    client.force_login(admin)
    department = admin.memberships.get().department
    response = client.post("/manage/new/", {**test_designer.NEW, "department": department.pk})
    assert response.status_code == 302
    item = ServiceItem.objects.get(code=test_designer.NEW["code"])
    created = entries_for(ServiceItem, object_pk=str(item.pk), action=LogEntry.Action.CREATE)
    assert [entry.actor for entry in created] == [admin]
    changes = created.get().changes_dict
    assert changes["code"][1] == test_designer.NEW["code"]
    assert "versions" not in changes and "cases" not in changes  # no reverse relations


def test_a_role_granted_by_a_department_admin_is_logged_with_them(world):
    url = f"/admin/accounts/user/{world.caseworker.pk}/change/"
    data = form_data(world.client.get(url))
    data.update({
        "memberships-TOTAL_FORMS": "2", "memberships-1-department": world.amr.pk,
        "memberships-1-role": Role.APPROVER,
    })  # fmt: skip
    assert world.client.post(url, data).status_code == 302
    granted = world.caseworker.memberships.get(role=Role.APPROVER)
    entry = entries_for(StaffMembership, object_pk=str(granted.pk)).get()
    assert (entry.action, entry.actor) == (LogEntry.Action.CREATE, world.deptadmin)
    assert entry.changes_dict["role"][1] == Role.APPROVER

    revoke = f"/admin/accounts/staffmembership/{granted.pk}/delete/"
    assert world.client.post(revoke, {"post": "yes"}).status_code == 302
    deleted = entries_for(StaffMembership, object_pk=str(granted.pk)).last()
    assert (deleted.action, deleted.actor) == (LogEntry.Action.DELETE, world.deptadmin)


def test_an_account_made_in_admin_is_logged_with_its_e_mail_masked_and_no_password(world):
    new = {
        "username": "newclerk", "usable_password": "true", "first_name": "李窗口",
        "email": "li@demo.gov.example", "password1": "a-Long-and-unusual-passphrase-42",
        "password2": "a-Long-and-unusual-passphrase-42", "department": world.amr.pk,
        "role": Role.COUNTER_CLERK,
    }  # fmt: skip
    assert world.client.post("/admin/accounts/user/add/", new).status_code == 302
    account = User.objects.get(username="newclerk")
    entry = entries_for(User, object_pk=str(account.pk)).first()
    assert entry.actor == world.deptadmin
    assert entry.changes_dict["email"] == ["None", "******"]
    assert "password" not in entry.changes_dict and "last_login" not in entry.changes_dict
    logged = str(entry.changes) + str(entry.serialized_data)
    assert "li@demo.gov.example" not in logged and "pbkdf2" not in logged
    # Signing in changes only last_login: nothing is logged.
    before = entries_for(User, object_pk=str(account.pk)).count()
    logged_in(account)
    assert entries_for(User, object_pk=str(account.pk)).count() == before


def test_an_api_request_is_logged_with_the_user_the_api_signed_in(world):
    """DRF signs the user in inside the view, after the middleware: the actor is still named."""
    api = APIClient()
    api.force_authenticate(world.deptadmin)
    response = api.post(
        f"/api/v1/manage/services/{world.sole_trader.code}/retire/",
        {"reason": "并入新事项", "replaced_by": ""},
        format="json",
    )
    assert response.status_code == 200, response.content
    entry = entries_for(ServiceItem, object_pk=str(world.sole_trader.pk)).last()
    assert entry.action == LogEntry.Action.UPDATE and entry.actor == world.deptadmin


def test_the_log_is_read_only_and_for_system_admins_only(world):
    StaffMembership.objects.create(user=world.citizen, department=world.amr, role=Role.CASEWORKER)
    root = logged_in(world.root)
    listing = root.get("/admin/auditlog/logentry/")
    assert listing.status_code == 200
    entry = LogEntry.objects.latest("pk")
    page = root.get(f"/admin/auditlog/logentry/{entry.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert root.get("/admin/auditlog/logentry/add/").status_code == 403
    assert (
        root.post(f"/admin/auditlog/logentry/{entry.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert LogEntry.objects.filter(pk=entry.pk).exists()

    assert world.client.get("/admin/auditlog/logentry/").status_code == 403
    assert world.client.get(f"/admin/auditlog/logentry/{entry.pk}/change/").status_code == 403
    assert "auditlog" not in world.client.get("/admin/").content.decode()


@pytest.mark.parametrize(
    "model",
    [
        "services.serviceitem", "services.serviceversion", "services.servicematerial",
        "services.legalarticle", "services.licencetype", "services.workflowdefinition",
        "services.workflowstage", "services.workflowtransition", "services.calendaryear",
        "services.calendarday", "accounts.department", "accounts.staffmembership", "accounts.user",
    ],
)  # fmt: skip
def test_every_catalog_workflow_calendar_and_staff_model_is_audited(model):
    from auditlog.registry import auditlog
    from django.apps import apps

    assert auditlog.contains(apps.get_model(model))
