"""The demo data of `make run`: every role can sign in, loading twice duplicates nothing."""

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.demo import DEMO_DEPARTMENT
from accounts.models import (
    CitizenProfile,
    Department,
    Organisation,
    ProxyAuthorisation,
    Role,
    StaffMembership,
    User,
)

DEMO_USERS = [
    "citizen",
    "company",
    "caseworker",
    "reviewer",
    "approver",
    "clerk",
    "deptadmin",
    "admin",
]


@pytest.mark.django_db
def test_demo_data_is_refused_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="refused"):
        call_command("load_demo")
    assert not User.objects.exists()


@pytest.mark.django_db
def test_demo_data_loads_once_and_every_login_works(settings, monkeypatch, capsys):
    settings.DEBUG = True
    monkeypatch.setenv("DEMO_PASSWORD", "my-own-demo-password-1")
    call_command("load_demo")
    printed = capsys.readouterr().out
    counts = [
        Model.objects.count()
        for Model in (User, CitizenProfile, Department, StaffMembership, Organisation,
                      ProxyAuthorisation)
    ]  # fmt: skip
    call_command("load_demo")
    assert [
        M.objects.count()
        for M in (User, CitizenProfile, Department, StaffMembership, Organisation,
                  ProxyAuthorisation)
    ] == counts  # fmt: skip
    assert "my-own-demo-password-1" in printed
    for username in DEMO_USERS:
        assert username in printed
        response = Client().post(
            "/accounts/login/", {"username": username, "password": "my-own-demo-password-1"}
        )
        assert response.status_code == 302, username
    kinds = set(Department.objects.values_list("kind", flat=True))
    assert {"city", "district", "street", "bureau"} <= kinds
    department = Department.objects.get(code=DEMO_DEPARTMENT)
    roles = set(
        StaffMembership.objects.filter(department=department).values_list("role", flat=True)
    )
    assert {
        Role.CASEWORKER,
        Role.REVIEWER,
        Role.APPROVER,
        Role.COUNTER_CLERK,
        Role.DEPARTMENT_ADMIN,
    } <= roles
    assert User.objects.get(username="company").agencies.get().organisation.uscc
    # The demo citizen may apply for his grandmother (帮办代办), authorised once.
    from accounts import proxies

    held = proxies.held_by(User.objects.get(username="citizen"))
    assert [a.principal.real_name for a in held] == ["张秀兰"]
    admin = Client()
    admin.force_login(User.objects.get(username="deptadmin"))
    assert admin.get("/admin/accounts/staffmembership/").status_code == 200


@pytest.mark.django_db
def test_demo_catalog_is_realistic_and_staff_can_work_it(settings):
    from django.db.models import Count

    from services.models import ServiceItem
    from services.schema import check_schema
    from services.workflows import workflow_problems

    settings.DEBUG = True
    call_command("load_demo")
    published = ServiceItem.objects.filter(status="published").select_related(
        "current_version__workflow"
    )
    assert published.count() >= 20
    per_department = dict(published.values_list("department__code").annotate(n=Count("pk")))
    assert len(per_department) >= 6
    assert max(per_department, key=per_department.get) == DEMO_DEPARTMENT
    for item in published:
        check_schema(item.current_version.form_schema)
        assert item.current_version.workflow.is_published
        assert workflow_problems(item.current_version.workflow) == []
        assert item.current_version.materials.exists()
