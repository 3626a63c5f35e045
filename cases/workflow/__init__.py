"""The case engine: drafts, submission and every transition of a case, for every channel.

Everything that changes a case goes through these functions (web pages, the API, the counter and
Celery alike). Each runs in one transaction, locks the case row, checks what the published
workflow allows from the current stage and who may do it, writes exactly one event to the
append-only trail, and runs the transition's effects.

- `rules`: the checks (what the definition allows now, who may take it), by outcome and stage kind;
- `transitions`: the state change and the steps the law takes by itself (deemed accepted/withdrawn);
- `trail`: recording events, locking, moving between stages;
- `effects`: the registry of the effects an admin may tick, one handler each;
- `clock`: working-day deadlines; `drafts`: drafts, documents, submission;
- `claims`: claims, take-over, repair and consultations.
"""

from . import commitments
from .claims import (
    claim_case,
    consult,
    give_opinion,
    may_repair,
    repair_case,
    take_over_case,
    withdraw_consultation,
)
from .clock import INTAKE_LIMIT_WORKING_DAYS
from .drafts import (
    add_attachment,
    applicant_profile,
    attach_stored_files,
    changed_meanwhile,
    create_draft,
    display_data,
    documents_on_file,
    held_licences,
    licence_shown,
    missing_materials,
    next_case_number,
    outstanding_materials,
    owed_materials,
    prefill_values,
    prefilled_fields,
    remove_attachment,
    reuse_document,
    sign_commitment,
    submit_application,
    update_draft,
)
from .effects import Phase, Step, effect_handler
from .errors import CaseConflict
from .rules import (
    acting_department_id,
    acting_roles,
    available_transitions,
    is_applicant_side,
    roles_for,
    transition_with_outcome,
    transitions_for,
)
from .trail import append_event
from .trail import locked as lock_case
from .transitions import (
    answer_supplement,
    apply_transition,
    deem_accepted,
    deem_withdrawn,
    intake_overdue_cases,
    request_supplement,
    withdraw_case,
)

__all__ = [
    "INTAKE_LIMIT_WORKING_DAYS",
    "CaseConflict",
    "Phase",
    "Step",
    "acting_department_id",
    "acting_roles",
    "add_attachment",
    "attach_stored_files",
    "changed_meanwhile",
    "answer_supplement",
    "append_event",
    "applicant_profile",
    "apply_transition",
    "available_transitions",
    "claim_case",
    "consult",
    "create_draft",
    "deem_accepted",
    "deem_withdrawn",
    "display_data",
    "documents_on_file",
    "effect_handler",
    "give_opinion",
    "held_licences",
    "licence_shown",
    "outstanding_materials",
    "owed_materials",
    "sign_commitment",
    "commitments",
    "intake_overdue_cases",
    "is_applicant_side",
    "lock_case",
    "may_repair",
    "missing_materials",
    "next_case_number",
    "prefill_values",
    "prefilled_fields",
    "remove_attachment",
    "repair_case",
    "request_supplement",
    "reuse_document",
    "roles_for",
    "submit_application",
    "take_over_case",
    "transition_with_outcome",
    "transitions_for",
    "update_draft",
    "withdraw_case",
    "withdraw_consultation",
]
