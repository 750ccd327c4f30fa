import email.utils

import pytest
import requests

from socialomega.core.http import UnsafeDestination, check_destination, classify, retry_after_seconds


def response(status: int, body: bytes = b"{}", headers: dict | None = None) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r._content = body
    r.headers.update(headers or {})
    return r


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_2xx_is_ok(status):
    assert classify(response(status)).kind == "ok"


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_statuses_are_retryable(status):
    assert classify(response(status)).kind == "retryable"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 422])
def test_client_errors_are_permanent_with_the_message(status):
    outcome = classify(response(status, b'{"error": {"message": "bad caption", "code": 100}}'))
    assert outcome.kind == "permanent"
    assert outcome.message == "bad caption"
    assert outcome.status == status


def test_429_carries_retry_after_seconds_and_dates():
    assert classify(response(429, headers={"Retry-After": "42"})).retry_after == 42
    in_a_minute = email.utils.formatdate(1_000_060, usegmt=True)
    assert retry_after_seconds(in_a_minute, now=1_000_000) == pytest.approx(60)
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_timeout_after_sending_is_unknown_but_connect_failures_are_retryable():
    assert classify(error=requests.ReadTimeout("read timed out")).kind == "unknown"
    assert classify(error=requests.ConnectTimeout("connect timed out")).kind == "retryable"
    assert classify(error=requests.ConnectionError("refused")).kind == "retryable"


def test_ssrf_guard():
    with pytest.raises(UnsafeDestination, match="scheme"):
        check_destination("file:///etc/passwd", None)
    with pytest.raises(UnsafeDestination, match="allow-list"):
        check_destination("https://evil.example/x", ["api.example.com"])
    for url in ("http://127.0.0.1:9001/2018-06-01/runtime", "http://169.254.169.254/latest", "http://[::1]:2773/",
                "http://10.0.0.8/", "http://localhost:2773/"):
        with pytest.raises(UnsafeDestination, match="non-public"):
            check_destination(url, None)
    check_destination("http://127.0.0.1:8702/v1/posts", ["127.0.0.1"], allow_private=True)


def test_instagram_container_not_ready_is_retryable():
    # IG error codes reference: 9007 / 2207027 "The media is not ready for publishing, please wait".
    body = (b'{"error": {"message": "Media ID is not available", "type": "OAuthException", "code": 9007,'
            b' "error_subcode": 2207027, "is_transient": false}}')
    outcome = classify(response(400, body))
    assert (outcome.kind, outcome.code) == ("retryable", "meta:9007/2207027")


def test_instagram_throttle_on_403_reads_buc_regain_minutes():
    # Meta sends throttles as code 4/17/32/80002 on HTTP 400/403, no Retry-After; the BUC header
    # says when access comes back, in minutes.
    body = b'{"error": {"message": "(#4) Application request limit reached", "type": "OAuthException", "code": 4}}'
    buc = '{"17841400000000001": [{"type": "instagram", "call_count": 100, "estimated_time_to_regain_access": 3}]}'
    outcome = classify(response(403, body, {"X-Business-Use-Case-Usage": buc}))
    assert (outcome.kind, outcome.code, outcome.retry_after) == ("retryable", "meta:4", 180.0)


def test_instagram_expired_token_on_400_is_auth():
    body = (b'{"error": {"message": "Error validating access token: Session has expired", "type": "OAuthException",'
            b' "code": 190, "error_subcode": 463}}')
    assert classify(response(400, body)).kind == "auth"
