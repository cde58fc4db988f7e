"""Imports every feature's models so mappers and Alembic see them all."""
from app.auth.models import AccountToken, GPProfile, RecoveryCode, User  # noqa: F401
from app.cases.models import (  # noqa: F401
    CareTeamMember,
    Case,
    CaseAction,
    CaseEvent,
    CaseMessage,
    CentralProviderChange,
    Consent,
    ConsentMember,
    Intake,
    Letter,
    Note,
    NoteVersion,
    PromMeasurement,
)
from app.core.audit import AuditEvent  # noqa: F401
from app.core.jobs import Outbox  # noqa: F401
from app.core.security import UserSession  # noqa: F401
from app.fhir.models import ApiClient, ApiSubscription, ApiToken  # noqa: F401
from app.meetings.models import Attendance, Meeting  # noqa: F401
from app.networks.models import (  # noqa: F401
    Discipline,
    Membership,
    MembershipDiscipline,
    Network,
    NetworkContact,
    ServiceAreaRange,
    TrainingRecord,
)
from app.norms.models import NormClock  # noqa: F401
from app.palliative.models import CareContact, HospitalRole, MdoDiscussion, OutsideCentralProvider  # noqa: F401
from app.patients.models import Patient  # noqa: F401
from app.quality.models import CriteriaSet, Criterion, Evidence, SelfCheckSnapshot  # noqa: F401
from app.records.models import RecordSection, RecordSectionVersion  # noqa: F401
from app.referrals.models import (  # noqa: F401
    PracticeNurseLink,
    Referral,
    ReferralAttachment,
    ReferralDiscipline,
    ReferralEvent,
    ReferralMedication,
    ReferralMessage,
)
