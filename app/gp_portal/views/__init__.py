"""The GP portal's pages, one module per workflow (all on the one blueprint app.gp_portal.bp, /verwijzer):

- registration.py: self-registration, email verification (/verwijzer/registreren, /verwijzer/email/...);
- practice.py: a practice nurse asks a GP of the practice, the GP confirms or refuses (/verwijzer/praktijk...);
- referral_form.py: a new referral, a draft to edit or discard (/verwijzer/verwijzingen/nieuw|concept/...);
- referrals.py: the own referrals, the confirmation, a referral, answering, withdrawing, the letters
  attached to it (/verwijzer/verwijzingen/...);
- contacts.py: the "who for what" directory of a network the GP refers to;
- case.py: the case behind a referral: a sent letter, a question to the central care provider;
- systems.py: the GP's own connected systems (FHIR API clients) (/verwijzer/koppelingen...);
- _common.py: the template helpers and the access checks they share (someone else's referral: 404).
"""
from app.gp_portal.views import (  # noqa: F401
    case,
    contacts,
    practice,
    referral_form,
    referrals,
    registration,
    systems,
)
