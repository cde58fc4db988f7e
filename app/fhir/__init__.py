"""FHIR R4 API (/fhir/R4): OAuth 2.0 client credentials, referral in, Task out, CapabilityStatement.

One base URL for every network: the tenant comes from the token's client (a network's system is bound to its
network; a GP's system reaches the GP's own referrals in any network, through the referrer's door), never
from the URL, so a client cannot name another tenant. See app/fhir/views.py.
"""
from flask import Blueprint

bp = Blueprint("fhir", __name__)

from app.fhir import views  # noqa: E402, F401
