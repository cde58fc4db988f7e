"""The OAuth 2.0 server (Authlib): client-credentials tokens, revocation, and the bearer check of every
FHIR request. Revoking a client or token takes effect on the next request: both are read per request."""
from __future__ import annotations

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import OAuth2Error, grants
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from flask import Flask, g

from app.fhir import clients
from app.fhir.models import ApiClient, ApiToken


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string, token_type_hint):
        return clients.token_by_value(token_string)

    def revoke_token(self, token: ApiToken, request):
        clients.revoke_token(token)


class _Validator(BearerTokenValidator):
    def authenticate_token(self, token_string):
        return clients.token_by_value(token_string)


class ApiAuthError(Exception):
    """A refused bearer token: status 401 (no/invalid/expired/revoked token) or 403 (scope)."""

    def __init__(self, status: int, error: str):
        super().__init__(error)
        self.status = status
        self.error = error


def _query_client(client_id: str) -> ApiClient | None:
    client = clients.client_by_client_id(client_id)
    return client if client is not None and client.is_active else None


def _save_token(token: dict, request) -> None:
    clients.save_token(token, request.client)


server = AuthorizationServer()
require_oauth = ResourceProtector()


def register_oauth(app: Flask) -> None:
    app.config.setdefault("OAUTH2_TOKEN_EXPIRES_IN", {"client_credentials": int(
        clients.TOKEN_LIFETIME.total_seconds())})
    server.init_app(app, query_client=_query_client, save_token=_save_token)
    server.register_grant(ClientCredentialsGrant)
    server.register_endpoint(Revocation)
    require_oauth.register_token_validator(_Validator())


def authenticate(scope: str) -> ApiToken:
    """The request's valid token with *scope*; sets g.api_client (the audit actor). Raises ApiAuthError."""
    try:
        token = require_oauth.acquire_token([scope])
    except OAuth2Error as error:
        raise ApiAuthError(error.status_code, error.error) from None
    g.api_client = token.client
    return token
