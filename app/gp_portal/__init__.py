"""The GP portal (/verwijzer/...): everything a GP or practice nurse sees. Self-registration, email
verification and practice links; the referral form, drafts and their own referrals; the case behind a
referral (key moments, letters, the question thread).

A GP is not a member of a network, so nothing here is under /n/<network_slug>/: the network comes from
the URL's slug or from the referral itself, and every read or write of its data runs inside
`network_context` / `referral_services.in_network`. Someone else's referral is a 404, never a 403.

The portal sits above the domain: it imports app.referrals and app.cases, they never import it.
"""
from flask import Blueprint

bp = Blueprint("gp_portal", __name__)  # url_prefix /verwijzer

from app.gp_portal import views  # noqa: E402, F401
