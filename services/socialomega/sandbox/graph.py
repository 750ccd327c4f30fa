"""Meta Graph API error answers, shared by the Instagram and Facebook fakes.

Shape (developers.facebook.com/docs/graph-api/guides/error-handling):
`{"error": {"message", "type", "code", "error_subcode"?, "is_transient"?, "error_user_title"?,
"error_user_msg"?, "fbtrace_id"}}`.
"""

from __future__ import annotations

import base64
import secrets
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
