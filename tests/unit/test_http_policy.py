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


def test_x_daily_post_cap_is_deferred_until_the_24_hour_reset():
    import time

    reset = int(time.time()) + 7200
    outcome = classify(response(429, b'{"title":"Too Many Requests","detail":"Too Many Requests",'
                                     b'"type":"about:blank","status":429}',
                                {"x-rate-limit-remaining": "97", "x-user-limit-24hour-limit": "17",
                                 "x-user-limit-24hour-remaining": "0", "x-user-limit-24hour-reset": str(reset)}))
    assert outcome.kind == "deferred" and outcome.code == "x:x-user-limit-24hour"
    assert 7100 < outcome.retry_after <= 7200
    # a plain 15-minute rate limit stays retryable
    assert classify(response(429, b'{"title":"Too Many Requests","type":"about:blank","status":429}',
                             {"x-user-limit-24hour-remaining": "5"})).kind == "retryable"


def test_x_invalid_request_message_carries_the_reason():
    outcome = classify(response(400, b'{"errors":[{"parameters":{"text":["..."]},"message":"Your Tweet text is too '
                                     b'long."}],"title":"Invalid Request","detail":"One or more parameters to your '
                                     b'request was invalid.","type":"https://api.x.com/2/problems/invalid-request"}'))
    assert (outcome.kind, outcome.code) == ("permanent", "x:invalid-request")
    assert outcome.message.endswith("Your Tweet text is too long.")
