"""Lambda entry point of the webhook endpoint (API Gateway REST API, proxy integration).

`GET|POST /webhooks/{platform}`: the API Gateway v1 proxy event in, `{statusCode, headers,
body}` out. Locally, the local runtime's HTTP server builds the same event.
"""

from __future__ import annotations

import base64
from functools import cache
from typing import Any

import structlog

from socialomega.core import config, deadline, metrics, tracing
from socialomega.core import logging as solog
from socialomega.webhooks import bootstrap
from socialomega.webhooks.service import WebhookRequest, WebhookService
from socialomega.webhooks.signatures import Answer


@cache
def _service() -> WebhookService:
    return bootstrap.build()


def request_from_event(event: dict[str, Any]) -> WebhookRequest:
    """The parts of an API Gateway v1 proxy event the service needs. Raises ValueError for a
    body that is not what the event says it is (base64 that does not decode)."""
    body = event.get("body") or ""
    # surrogatepass: a text body never fails to encode (a lone surrogate cannot be signed
    # by a platform, so such a body just fails its signature check).
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else str(body).encode("utf-8", "surrogatepass")
    return WebhookRequest(
        method=str(event.get("httpMethod", "")).upper(),
        platform=str((event.get("pathParameters") or {}).get("platform", "")),
        query={k: str(v) for k, v in (event.get("queryStringParameters") or {}).items()},
        headers={str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()},
        body=raw,
    )


@tracing.traced_handler("webhooks")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    solog.clear()
    structlog.contextvars.bind_contextvars(
        service="webhooks", request_id=(event.get("requestContext") or {}).get("requestId")
    )
    try:
        request = request_from_event(event)
    except (ValueError, TypeError, AttributeError) as exc:  # binascii.Error is a ValueError
        solog.get_logger().warning("webhook_rejected", status=400, reason=f"malformed request: {str(exc)[:200]}")
        return _response(Answer(400, '{"error": "malformed request"}'))
    structlog.contextvars.bind_contextvars(platform=request.platform[:40])
    try:
        with deadline.bound(deadline.Deadline.from_context(context, margin=1.0)):
            answer = _service().handle(request)
    except config.ConfigError as exc:  # e.g. the webhooks secret has no value yet: an operator's job
        solog.get_logger().error("webhook_not_configured", error=str(exc)[:300])
        answer = Answer(503, '{"error": "temporarily unavailable"}')
    except Exception as exc:  # store or EventBridge unavailable: 500, and the platform retries
        solog.get_logger().exception("webhook_failed", error=str(exc)[:300])
        answer = Answer(500, '{"error": "temporarily unable to record the notification"}')
    if answer.status >= 500:
        # Not a Lambda error (the function answered): counted for its alarm (terraform/envs/aws/alerting.tf).
        metrics.emit({"WebhookServerErrors": 1}, {"Service": "webhooks"})
    return _response(answer)


def _response(answer: Answer) -> dict[str, Any]:
    return {"statusCode": answer.status, "headers": {"Content-Type": answer.content_type}, "body": answer.body}
