"""The audit log in words: what each event code means, for coordinators and for the patient.

Only strings: features name their events in app code, their words live here so that every reader of the log
(the network's audit page, the patient's access overview, its CSV export) uses the same ones.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

# What the event codes mean. A code without words is described by its object and action (event_words).
EVENT_LABELS = {
    "case.detail_viewed": _l("Viewed the case"), "case.intake_viewed": _l("Read the intake"),
    "case.proposal_viewed": _l("Viewed the proposal to join the care team"),
    "case.notes_viewed": _l("Read the notes"), "case.proms_viewed": _l("Viewed the distress thermometer"),
    "case.letters_viewed": _l("Viewed the letters to the GP"), "case.consents_viewed": _l("Viewed the consents"),
    "case.consent_overview_viewed": _l("Printed this overview"), "case.consent_exported": _l("Exported this overview"),
    "case.access_denied": _l("Tried to open the case: refused"), "case.listed": _l("Viewed the list of cases"),
    "case.opened": _l("Opened the case"), "case.member_proposed": _l("Proposed a care provider"),
    "case.member_accepted": _l("Joined the care team"), "case.member_declined": _l("Declined to join"),
    "case.central_changed": _l("Changed the central care provider"), "case.closed": _l("Closed the case"),
    "intake.started": _l("Started the intake"), "intake.saved": _l("Wrote in the intake"),
    "intake.completed": _l("Completed the intake"), "intake.viewed": _l("Read the intake draft"),
    "intake.correction_started": _l("Started a correction of the intake"),
    "consent.recorded": _l("Recorded a consent"), "consent.withdrawn": _l("Recorded a withdrawal of consent"),
    "consent.document_downloaded": _l("Downloaded a signed consent form"),
    "note.created": _l("Wrote a note"), "note.edited": _l("Changed a note"), "prom.recorded":
        _l("Recorded a distress thermometer"), "letter.drafted": _l("Drafted a letter to the GP"),
    "patient.viewed": _l("Viewed the patient's details"), "referral.viewed": _l("Viewed the referral"),
    "patient.created": _l("Registered the patient"), "patient.searched": _l("Searched the patients"),
    "patient.listed": _l("Viewed the list of patients"), "patient.exported": _l("Exported all data of the patient"),
    "intake.form_viewed": _l("Opened the intake form"), "case.actions_viewed": _l("Viewed the next actions"),
    "case.note_access_denied": _l("Tried to read a note: refused"), "case_action.created": _l("Added a next action"),
    "case_action.done": _l("Completed a next action"), "case.part_closed": _l("Closed their part of the care"),
    "case.message": _l("Wrote in the thread with the GP"), "case.gp_thread_viewed": _l("Read the thread with the GP"),
    "letter.edited": _l("Changed a letter to the GP"), "letter.sent": _l("Sent a letter to the GP"),
    "letter.downloaded": _l("Downloaded a letter to the GP"),
    "referral.submitted": _l("Sent the referral"), "referral.acknowledge": _l("Acknowledged the referral"),
    "referral.request_info": _l("Asked the GP a question"), "referral.answer": _l("Answered the network's question"),
    "referral.accept": _l("Accepted the referral"), "referral.plan_intake": _l("Planned the intake"),
    "referral.start_care": _l("Started care"), "referral.close": _l("Closed the referral"),
    "referral.care_without_intake": _l("Started care without intake"),
    "referral.decline": _l("Declined the referral"), "referral.forward": _l("Forwarded the referral"),
    "referral.withdraw": _l("Withdrew the referral"), "referral.draft_saved": _l("Saved a draft of the referral"),
    "referral.attachment_added": _l("Attached a letter to the referral"),
    "referral.attachment_downloaded": _l("Downloaded a letter of the referral"),
    "referral.listed": _l("Viewed a list of referrals"),
    "case.gp_summary_viewed": _l("The GP viewed the course of care"), "letter.viewed": _l("Read a letter to the GP"),
    "case.intake_denied": _l("Tried to open the intake: refused"),
    "case.action_access_denied": _l("Tried to open a next action: refused"),
    "case_action.done_refused": _l("Tried to complete someone else's next action: refused"),
    "case.prom_reminded": _l("Was reminded to measure the distress thermometer"),
    "record.section_written": _l("Updated the shared record"),
    "case.palliative_path_viewed": _l("Viewed the palliative care path"),
    "palliative.signal_recorded": _l("Recorded a palliative care signal"),
    "palliative.marked": _l("Marked the palliative phase"),
    "palliative.wishes_recorded": _l("Recorded a wishes conversation"),
    "palliative.deceased": _l("Recorded the death of the patient"),
    "palliative.follow_up_done": _l("Completed the bereavement follow-up"),
    # The patient portal: the patient's and relatives' own reads, and the network's side of it.
    "portal.record_viewed": _l("Read the record in the portal"),
    "portal.letter_viewed": _l("Read a letter in the portal"),
    "portal.consents_viewed": _l("Viewed the consents in the portal"),
    "portal.proposal_viewed": _l("Read a proposal for the care team in the portal"),
    "portal.consent_viewed": _l("Viewed a consent in the portal"),
    "portal.access_log_viewed": _l("Viewed who looked at the record"),
    "portal.questionnaires_viewed": _l("Opened the questionnaires in the portal"),
    "portal.questionnaire_submitted": _l("Filled in the distress thermometer"),
    "portal.relatives_viewed": _l("Viewed who reads along"),
    "portal.relative_viewed": _l("Viewed a relative's access"),
    "portal.messages_viewed": _l("Read the messages in the portal"), "portal.my_data_viewed": _l("Viewed own data"),
    "portal.accounts_listed": _l("Opened the portal"),
    "portal.patient_invited": _l("Invited the patient to the portal"),
    "portal.relative_invited": _l("Let a relative read along"),
    "portal.access_revoked": _l("Ended access to the portal"),
    "portal.access_denied": _l("Tried to open the portal: refused"),
    "portal.message": _l("Wrote a message in the portal"),
    "portal.correction_requested": _l("Asked for a correction of the record"),
    "portal.network_side_viewed": _l("Viewed the patient's portal (invitations and messages)"),
}



OBJECT_LABELS = {
    "case": _l("case"), "referral": _l("referral"), "letter": _l("letter to the GP"), "user": _l("account"),
    "membership": _l("membership"), "intake": _l("intake"), "record_section": _l("shared record"),
    "patient": _l("patient"), "network": _l("network"), "consent": _l("consent"),
    "care_team_member": _l("care team"), "note": _l("note"), "case_action": _l("next action"),
    "self_check_snapshot": _l("NVPO self-check"), "referral_attachment": _l("referral attachment"),
    "practice_nurse_link": _l("practice nurse link"), "network_contact": _l("network contact"),
    "meeting": _l("meeting"), "evidence": _l("evidence"), "training_record": _l("training"),
    "care_contact": _l("who-for-what contact"), "api_client": _l("connected system"),
    "prom_measurement": _l("distress thermometer"), "hospital_role": _l("hospital role"),
    "gp_profile": _l("GP profile"), "endpoint": _l("page"), "central_provider": _l("central care provider"),
    "case_message": _l("message to the GP"), "audit_log": _l("audit log"),
    "portal_account": _l("access to the portal"), "patient_questionnaire": _l("questionnaire"),
    "portal_message": _l("message in the portal"), "palliative_event": _l("palliative care path"),
}


def event_label(code: str) -> str:
    """The words for *code*, or the code itself when it has none (the patient's overview)."""
    label = EVENT_LABELS.get(code)
    return str(label) if label is not None else code


def object_label(object_type: str) -> str:
    label = OBJECT_LABELS.get(object_type)
    return str(label) if label is not None else object_type.replace("_", " ")


def event_words(code: str, action_label: str, object_type: str) -> str:
    """The words for *code*; without its own words: the action and the object ("Viewed: referral")."""
    label = EVENT_LABELS.get(code)
    if label is not None:
        return str(label)
    return f"{action_label}: {object_label(object_type)}" if object_type else action_label
