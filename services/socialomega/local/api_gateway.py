"""The local stand-in for API Gateway: HTTP requests in, proxy events to the webhook handler.

LocalStack here cannot run the webhook function behind its API Gateway, so in local mode this
small server plays the REST API of `terraform/modules/webhook_api`: the route
`/webhooks/{platform}` (GET and POST), the v1 proxy event shape, and the handler's
`{statusCode, headers, body}` answer. The handler is the same function the image runs.
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from socialomega.local.lambda_context import LambdaContext

WEBHOOK_HANDLER = "socialomega.webhooks.handler.handler"
ROUTE_PREFIX = "/webhooks/"
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit


def proxy_event(
    method: str, raw_path: str, headers: dict[str, str], body: bytes, stage: str = "local"
) -> dict[str, Any]:
    """The API Gateway (REST, v1) Lambda proxy event for one request on `/webhooks/{platform}`."""
    parts = urlsplit(raw_path)
    query = parse_qsl(parts.query, keep_blank_values=True)
    multi: dict[str, list[str]] = {}
    for name, value in query:
        multi.setdefault(name, []).append(value)
    try:  # no binary media types are configured: a body is text, or base64 if it is not UTF-8
        text, encoded = (body.decode("utf-8") if body else None), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    return {
        "resource": "/webhooks/{platform}",
        "path": parts.path,
        "httpMethod": method,
        "headers": dict(headers),
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi.items()} or None,
        "multiValueQueryStringParameters": multi or None,
        "pathParameters": {"platform": parts.path[len(ROUTE_PREFIX) :]},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/webhooks/{platform}",
            "httpMethod": method,
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "path": f"/{stage}{parts.path}",
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


class WebhookGateway:
    """Serves `/webhooks/{platform}` on `host:port` (0: any free port) in a background thread."""

    def __init__(self, handler: Any, host: str = "127.0.0.1", port: int = 0, timeout_seconds: int = 10) -> None:
        gateway = self

        class _Request(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                gateway._serve(self, "GET")

            def do_POST(self) -> None:
                gateway._serve(self, "POST")

            def log_message(self, *_args: Any) -> None:  # the handler logs; no stderr noise
                pass

        self.handler = handler
        self.timeout_seconds = timeout_seconds
        self.server = ThreadingHTTPServer((host, port), _Request)
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        assert isinstance(host, str)  # an AF_INET server's bound address: getsockname() gives a str host
        return f"http://{host}:{port}"

    def _serve(self, request: BaseHTTPRequestHandler, method: str) -> None:
        path = urlsplit(request.path).path
        platform = path[len(ROUTE_PREFIX) :] if path.startswith(ROUTE_PREFIX) else ""
        if not platform or "/" in platform:
            self._reply(request, 403, "application/json", b'{"message":"Missing Authentication Token"}')
            return  # what API Gateway answers for a route it does not have
        length = int(request.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._reply(request, 413, "application/json", b'{"message":"Request Too Long"}')
            return
        body = request.rfile.read(length) if length else b""
        event = proxy_event(method, request.path, {k: v for k, v in request.headers.items()}, body)
        context = LambdaContext(function_name="webhooks", timeout_seconds=self.timeout_seconds)
        try:
            result = self.handler(event, context)
        except Exception:  # API Gateway's answer when the integration fails
            self._reply(request, 502, "application/json", b'{"message": "Internal server error"}')
            return
        out = result.get("body") or ""
        data = base64.b64decode(out) if result.get("isBase64Encoded") else out.encode()
        headers = result.get("headers") or {}
        self._reply(request, int(result.get("statusCode", 200)), headers.get("Content-Type", "application/json"), data)

    @staticmethod
    def _reply(request: BaseHTTPRequestHandler, status: int, content_type: str, data: bytes) -> None:
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.server.serve_forever, name="api-gateway", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self._thread is not None:
            self._thread.join(5)
