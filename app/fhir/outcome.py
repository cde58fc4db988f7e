"""FHIR answers: OperationOutcome for every refusal, and JSON responses of validated resources."""
from __future__ import annotations

from fhir.resources.R4B.operationoutcome import OperationOutcome
from flask import Response, json

FHIR_JSON = "application/fhir+json"


class FhirError(Exception):
    """Answered as an OperationOutcome with *status*; each issue is (code, diagnostics, expression or None)."""

    def __init__(self, status: int, issues: list[tuple[str, str, str | None]]):
        super().__init__(issues[0][1] if issues else "")
        self.status = status
        self.issues = issues


def outcome(issues: list[tuple[str, str, str | None]]) -> OperationOutcome:
    return OperationOutcome.model_validate({"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": code, "diagnostics": text, **({"expression": [where]} if where else {})}
        for code, text, where in issues]})


def resource_response(resource, status: int = 200, headers: dict | None = None) -> Response:
    """A fhir.resources model as application/fhir+json (validated when it was built)."""
    body = resource.model_dump_json(exclude_none=True)
    response = Response(body, status=status, mimetype=FHIR_JSON, headers=headers or {})
    response.headers["Cache-Control"] = "no-store"
    return response


def error_response(error: FhirError) -> Response:
    response = resource_response(outcome(error.issues), error.status)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="fhir"'
    return response


def parse_json(raw: bytes):
    """The request body as JSON, or FhirError 400."""
    try:
        return json.loads(raw or b"")
    except ValueError:
        raise FhirError(400, [("structure", "The body is not valid JSON.", None)]) from None
