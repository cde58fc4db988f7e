"""Intake, case, care team, consent, notes, actions, distress measurements and closing. Callers commit.

Who may do what is checked by the views through app.cases.access; the services check the state
rules (a completed intake is never changed, a hand-off needs consent first, ...) and raise
CaseRuleBroken with a message for the user. Every change is audit-logged here with the patient.
The modules are split by workflow; import the names from this package. Letters to the GP have their own
namespace: app.cases.services.letters. The submodules import each other directly (never this package),
so they form no import loop (tests/test_cases_layering.py).
"""
from app.cases.services._base import (  # noqa: F401
    INTAKE_FIELDS,
    PROM_INTERVAL_MONTHS,
    CaseRuleBroken,
    CompletedIntakeIsFinal,
    add_event,
    case_for_referral,
    current_intake,
    discipline_names,
    draft_intake,
    get_case,
    intakes_of,
)
from app.cases.services.closing import (  # noqa: F401
    add_case_message,
    case_messages,
    close_after_death,
    close_case,
    close_part,
    timeline,
)
from app.cases.services.intake import (  # noqa: F401
    complete_intake,
    correct_intake,
    default_held_on,
    open_case,
    patient_questionnaire,
    prefill,
    prefill_from_referral,
    previous_intake,
    save_intake,
    start_intake,
)
from app.cases.services.team import (  # noqa: F401
    active_team_member,
    ask_proposed_member,
    central_history,
    consent_by_key,
    consents_of,
    patient_decides_in_portal,
    propose_member,
    record_consent,
    respond_to_proposal,
    set_central,
    team,
    waits_for_patient,
    withdraw_consent,
)
from app.cases.services.work import (  # noqa: F401
    actions_of,
    add_action,
    add_note,
    complete_action,
    edit_note,
    note_versions,
    overdue_actions_for,
    proms_of,
    record_prom,
)
