"""The portal's own workflows. Callers commit.

- registration.py: self-registration and email verification of GPs and practice nurses;
- practice.py: practice-nurse links (a POH asks, the GP confirms or refuses);
- case.py: the GP's read of the case behind their referral (key moments, letters, the thread).

Who may refer, and on whose behalf, is the referral domain's rule (app.referrals.services).
"""
