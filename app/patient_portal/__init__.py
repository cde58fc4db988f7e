"""The patient takes part (issue 14): their own record, their consents, who looked, their questionnaires,
messages and data, in every network that treats them; relatives see what the patient granted.

Two blueprints: `bp` is the portal itself (/mijn, for patients and relatives, across networks through the one
named door services.account_of); `network_bp` is the network's side (/n/<network_slug>/portaal: the
coordinator invites the patient, the coordinator and the central care provider answer messages).
Who may see what is decided by app.cases.access (portal_access for the portal, case_access for the network).
"""
from flask import Blueprint

bp = Blueprint("patient_portal", __name__)  # /mijn
network_bp = Blueprint("portal_network", __name__)  # /n/<network_slug>/portaal

from app.patient_portal import network_views, views  # noqa: E402, F401
