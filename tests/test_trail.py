"""The audit trail: `verify_trail` passes on an honest trail and names the first tampered event."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import Role
from cases import workflow

from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    make_service,
)


@pytest.fixture
def cases_with_trails(db, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    department = DepartmentFactory()
    service = make_service(
        "TR-1", department=department, materials=[{"name": "x", "required": False}]
    ).service
    caseworker = StaffMembershipFactory(department=department, role=Role.CASEWORKER).user
    made = []
    for _ in range(3):
        user = CitizenProfileFactory().user
        case, _created = workflow.create_draft(service=service, user=user, data={"shop_area": 5})
        case = workflow.submit_application(case=case, user=user)
        made.append(workflow.apply_transition(case=case, name="accept", actor=caseworker))
    return made


def test_an_honest_trail_verifies(cases_with_trails, capsys):
    call_command("verify_trail")
    assert "Trail intact: 9 events checked." in capsys.readouterr().out


def _bypass_triggers(sql: str, params: list) -> None:
    """What an attacker with database superuser rights could do: switch the triggers off."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET session_replication_role = origin")


def test_a_changed_opinion_is_found(cases_with_trails):
    target = cases_with_trails[1]
    _bypass_triggers(
        "UPDATE cases_event SET opinion = 'altered' WHERE case_id = %s AND sequence = 2",
        [target.pk],
    )
    with pytest.raises(CommandError) as excinfo:
        call_command("verify_trail")
    message = str(excinfo.value)
    assert target.number in message and "#2" in message and "content changed" in message


def test_a_removed_event_is_found(cases_with_trails):
    target = cases_with_trails[2]
    # The receipt issued at submission names its event: the attacker removes both.
    _bypass_triggers(
        "DELETE FROM cases_officialdocument WHERE event_id IN "
        "(SELECT id FROM cases_event WHERE case_id = %s AND sequence = 2)",
        [target.pk],
    )
    _bypass_triggers("DELETE FROM cases_event WHERE case_id = %s AND sequence = 2", [target.pk])
    with pytest.raises(CommandError) as excinfo:
        call_command("verify_trail")
    assert target.number in str(excinfo.value) and "#3" in str(excinfo.value)
