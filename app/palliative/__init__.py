"""Care between the lines and the palliative path (issue 13): the hospital's roles on a case, the central
care provider in or outside the network, and the network's "who for what" directory."""
from flask import Blueprint

bp = Blueprint("palliative", __name__)  # /n/<network_slug>/...


@bp.app_template_global()
def palliative_marking(case, access):
    """The marking of the palliative phase for the case header, for a viewer whose consent covers the intake
    part (where the wishes and the people involved are); None otherwise."""
    from app.cases.access import case_header_values
    from app.cases.models import ConsentPart
    from app.palliative.services import Marking, marking_of

    if access is None or not access.may_see(ConsentPart.INTAKE):
        return None
    read_with_case = case_header_values(case.id)
    if read_with_case is not None and "palliative_since" in read_with_case:  # the case page's own load read it
        since = read_with_case["palliative_since"]
        return Marking(since) if since is not None else None
    return marking_of(case.id)


from app.palliative import views  # noqa: E402, F401
