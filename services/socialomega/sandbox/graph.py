"""Meta Graph API error answers and token endpoints (`debug_token`, `fb_exchange_token`:
`GraphApp`), shared by the Instagram and Facebook fakes.

Shape (developers.facebook.com/docs/graph-api/guides/error-handling):
`{"error": {"message", "type", "code", "error_subcode"?, "is_transient"?, "error_user_title"?,
"error_user_msg"?, "fbtrace_id"}}`.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


def trace_id() -> str:
    return "A" + base64.urlsafe_b64encode(secrets.token_bytes(12)).decode()


class GraphError(Exception):
    """A Graph API error answer: raise it in a fake, answer with `status` and `body()`."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        error_type: str = "OAuthException",
        subcode: int | None = None,
        transient: bool | None = None,
        user_title: str | None = None,
        user_msg: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.type = status, code, message, error_type
        self.subcode, self.transient, self.user_title, self.user_msg = subcode, transient, user_title, user_msg
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"message": self.message, "type": self.type, "code": self.code}
        if self.subcode is not None:
            err["error_subcode"] = self.subcode
        if self.transient is not None:
            err["is_transient"] = self.transient
        if self.user_title:
            err["error_user_title"] = self.user_title
        if self.user_msg:
            err["error_user_msg"] = self.user_msg
        err["fbtrace_id"] = trace_id()
        return {"error": err}


# --- tokens: `debug_token` and the long-lived token exchange, for both Graph fakes ----------------
# GET /{v}/debug_token?input_token=<t> with an app token `{app-id}|{app-secret}` (or a valid token
# of the app) -> {"data": {app_id, type, application, data_access_expires_at, expires_at,
# is_valid, issued_at, scopes, granular_scopes, user_id|profile_id, error?}}
# (developers.facebook.com/docs/facebook-login/access-tokens/debugging-and-error-handling).
# `expires_at: 0` for a token that never expires (a Page token from a long-lived user token:
# "Long-lived Page access tokens do not have an expiration date"); that debug_token shows them so
# is UNCONFIRMED (third-party schemas). An invalid input token is `is_valid: false` with
# `error: {code: 190, message, subcode}` on HTTP 200 (UNCONFIRMED, chosen).
# GET /{v}/oauth/access_token?grant_type=fb_exchange_token&client_id&client_secret&fb_exchange_token
# -> {"access_token", "token_type": "bearer", "expires_in"} (docs/facebook-login/guides/
# access-tokens/get-long-lived): a NEW token, ~60 days; the old one stays valid until its own
# expiry; an expired token cannot be exchanged (code 190/463). Wrong client_id -> code 101
# "Error validating application"; wrong secret -> code 1 "Error validating client secret."
# (widely reported bodies; UNCONFIRMED against Meta's text).
LONG_LIVED_SECONDS = 5_184_000  # "generally lasts about 60 days" (expires_in ~ 5,183,944)
DATA_ACCESS_SECONDS = 90 * 86400  # "If your app does not use a permission for 90 days ..."


def expired_message(at: float) -> str:
    when = datetime.fromtimestamp(at, UTC)
    return f"Error validating access token: Session has expired on {when:%A, %d-%b-%y %H:%M:%S} PST."


@dataclass
class GraphToken:
    kind: str  # "USER" | "PAGE"
    subject: str  # the user id (USER) or the Page id (PAGE)
    issued_at: float
    expires_at: float | None  # None: never
    scopes: tuple[str, ...]
    expired: bool = False  # made to expire now (the fakes' expire-token control)


class GraphApp:
    """A Meta app and the tokens issued to it, as a Graph fake's token endpoints see them."""

    def __init__(self, app_id: str, app_secret: str, name: str) -> None:
        self.app_id, self.app_secret, self.name = app_id, app_secret, name
        self.tokens: dict[str, GraphToken] = {}

    @property
    def app_token(self) -> str:
        return f"{self.app_id}|{self.app_secret}"

    def find(self, token: str) -> GraphToken | None:
        return next((v for t, v in self.tokens.items() if hmac.compare_digest(t, token)), None)

    def state(self, token: GraphToken, now: float) -> str:
        """valid | expired"""
        if token.expired or (token.expires_at is not None and token.expires_at <= now):
            return "expired"
        return "valid"

    def debug(self, caller: str | None, input_token: str | None, now: float) -> dict[str, Any]:
        """The debug_token answer (raises GraphError for a bad caller or a missing input_token)."""
        if not caller:
            raise GraphError(400, 104, "An access token is required to request this resource.")
        own = self.find(caller)
        if not hmac.compare_digest(caller, self.app_token) and (own is None or self.state(own, now) != "valid"):
            raise GraphError(400, 190, "Invalid OAuth access token - Cannot parse access token")
        if not input_token:
            raise GraphError(400, 100, "(#100) The parameter input_token is required")
        token = self.find(input_token)
        if token is None:
            return {
                "data": {
                    "error": {"code": 190, "message": "Invalid OAuth access token - Cannot parse access token"},
                    "is_valid": False,
                    "scopes": [],
                }
            }
        valid = self.state(token, now) == "valid"
        data: dict[str, Any] = {
            "app_id": self.app_id,
            "type": token.kind,
            "application": self.name,
            "data_access_expires_at": int(now + DATA_ACCESS_SECONDS),
            "expires_at": 0 if token.expires_at is None else int(token.expires_at),
            "is_valid": valid,
            "issued_at": int(token.issued_at),
            "scopes": list(token.scopes),
            "granular_scopes": [{"scope": s} for s in token.scopes],
            "user_id": token.subject if token.kind == "USER" else "100000000000001",
        }
        if token.kind == "PAGE":
            data["profile_id"] = token.subject
        if not valid:
            at = now if token.expires_at is None or token.expired else token.expires_at
            data["error"] = {"code": 190, "message": expired_message(at), "subcode": 463}
        return {"data": data}

    def exchange(self, params: dict[str, str], now: float, issue: str) -> dict[str, Any]:
        """fb_exchange_token: a new long-lived token `issue` for a valid one (raises GraphError)."""
        if params.get("grant_type") != "fb_exchange_token":
            raise GraphError(400, 100, "(#100) Unsupported grant_type")
        if not hmac.compare_digest(params.get("client_id", ""), self.app_id):
            raise GraphError(400, 101, "Error validating application. Invalid application ID.")
        if not hmac.compare_digest(params.get("client_secret", ""), self.app_secret):
            raise GraphError(400, 1, "Error validating client secret.")
        old = self.find(params.get("fb_exchange_token", ""))
        if old is None:
            raise GraphError(400, 190, "Invalid OAuth access token - Cannot parse access token")
        if self.state(old, now) != "valid":
            at = now if old.expires_at is None or old.expired else old.expires_at
            raise GraphError(400, 190, expired_message(at), subcode=463)
        self.tokens[issue] = GraphToken(old.kind, old.subject, now, now + LONG_LIVED_SECONDS, old.scopes)
        return {"access_token": issue, "token_type": "bearer", "expires_in": LONG_LIVED_SECONDS}
