"""The referrer's side: the form per network, drafts, confirmation, own referrals (/verwijzer/verwijzingen/...).

A GP is not a member of the network, so these pages are not under /n/<network_slug>/: the network comes
from `slug` (services.referable_network) or from the referral itself, and every read or write of its data
runs inside `network_context` / `services.in_network`. Someone else's referral is a 404, never a 403.

The form and drafts are in form.py, the pages after sending in pages.py, their shared helpers in _common.py.
"""
from app.referrals.gp_views import form, pages  # noqa: F401
