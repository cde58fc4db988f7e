"""Care between the lines and the palliative path (issue 13): the hospital's roles on a case, the central
care provider in or outside the network, and the network's "who for what" directory."""
from flask import Blueprint

bp = Blueprint("palliative", __name__)  # /n/<network_slug>/...

from app.palliative import views  # noqa: E402, F401
