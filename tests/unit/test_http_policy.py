import email.utils
import json
import time

import pytest
import requests

from socialomega.core.egress import EgressPolicy, UnsafeDestination, check_url
from socialomega.core.http import (
    classify,
    retry_after_seconds,
)
from socialomega.platforms.linkedin.errors import ERRORS as LINKEDIN_ERRORS
from socialomega.platforms.meta.errors import ERRORS as META_ERRORS
from socialomega.platforms.meta.errors import usage_percent as meta_usage_percent
from socialomega.platforms.x.errors import ERRORS as X_ERRORS


def check_destination(url: str, allowed_hosts: list[str] | None, allow_private: bool = False) -> None:
    """The URL guard with a host allow-list and any port (ports have their own tests)."""
    hosts = None if allowed_hosts is None else frozenset(allowed_hosts)
    check_url(url, EgressPolicy(hosts, frozenset(range(1, 65536)), allow_private))


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


@pytest.mark.parametrize("status", [400, 403, 404, 409, 413, 422])
def test_client_errors_are_permanent_with_the_message(status):
    outcome = classify(response(status, b'{"error": {"message": "bad caption", "code": 100}}'))
    assert outcome.kind == "permanent"
    assert outcome.message == "bad caption"
    assert outcome.status == status


def test_401_is_an_auth_failure_whatever_the_body():
    assert classify(response(401, b'{"error": "invalid_token"}')).kind == "auth"
    assert classify(response(401, b"nope")).kind == "auth"


def test_meta_error_bodies():
    def meta(status, code, subcode=None, transient=None, headers=None):
        err = {"message": "m", "type": "OAuthException", "code": code, "fbtrace_id": "x"}
        if subcode:
            err["error_subcode"] = subcode
        if transient is not None:
            err["is_transient"] = transient
        return classify(response(status, json.dumps({"error": err}).encode(), headers), platform_errors=META_ERRORS)

    assert meta(400, 190, 463).kind == "auth"
    quota = meta(400, 9, 2207042)
    assert quota.kind == "deferred" and quota.code == "meta:9/2207042"
    usage = json.dumps(
        {
            "1234": [
                {
                    "type": "pages",
                    "call_count": 100,
                    "total_cputime": 20,
                    "total_time": 30,
                    "estimated_time_to_regain_access": 7,
                }
            ]
        }
    )
    throttled = meta(400, 32, headers={"X-Business-Use-Case-Usage": usage})
    assert throttled.kind == "retryable" and throttled.retry_after == 7 * 60
    assert meta(500, 1, transient=True).kind == "retryable"
    assert meta(400, 36000, 2207004, transient=False).kind == "permanent"
    assert meta(400, -2, 2207003).kind == "retryable"
    assert meta_usage_percent({"X-App-Usage": '{"call_count": 28, "total_time": 91, "total_cputime": 5}'}) == 91


def test_x_problem_bodies_and_rate_limit_reset():
    def x(status, body, headers=None):
        return classify(response(status, json.dumps(body).encode(), headers), platform_errors=X_ERRORS)

    reset = str(int(time.time()) + 120)
    limited = x(
        429,
        {"title": "Too Many Requests", "type": "about:blank", "status": 429, "detail": "Too Many Requests"},
        {"x-rate-limit-remaining": "0", "x-rate-limit-reset": reset},
    )
    assert limited.kind == "retryable" and 110 <= limited.retry_after <= 121
    capped = x(429, {"title": "UsageCapExceeded", "type": "https://api.x.com/2/problems/usage-capped", "detail": "cap"})
    assert capped.kind == "deferred"
    invalid = x(
        400,
        {"title": "Invalid Request", "type": "https://api.x.com/2/problems/invalid-request", "detail": "text too long"},
    )
    assert (invalid.kind, invalid.code, invalid.message) == ("permanent", "x:invalid-request", "text too long")
    assert x(429, {"errors": [{"code": 88, "message": "Rate limit exceeded"}]}).kind == "retryable"


def test_linkedin_error_bodies():
    def li(status, code, service_code):
        body = {"status": status, "serviceErrorCode": service_code, "code": code, "message": f"{code} happened"}
        return classify(response(status, json.dumps(body).encode()), platform_errors=LINKEDIN_ERRORS)

    assert li(401, "REVOKED_ACCESS_TOKEN", 65601).kind == "auth"
    version = li(426, "NONEXISTENT_VERSION", 0)
    assert (version.kind, version.code) == ("permanent", "linkedin:NONEXISTENT_VERSION")
    assert li(429, "TOO_MANY_REQUESTS", 101).kind == "retryable"
    assert li(403, "ACCESS_DENIED", 100).kind == "permanent"


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
    for url in (
        "http://127.0.0.1:9001/2018-06-01/runtime",
        "http://169.254.169.254/latest",
        "http://[::1]:2773/",
        "http://10.0.0.8/",
        "http://localhost:2773/",
    ):
        with pytest.raises(UnsafeDestination, match="non-public"):
            check_destination(url, None)
    check_destination("http://127.0.0.1:8702/v1/posts", ["127.0.0.1"], allow_private=True)


def test_x_daily_post_cap_is_deferred_until_the_24_hour_reset():
    import time

    reset = int(time.time()) + 7200
    outcome = classify(
        response(
            429,
            b'{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}',
            {
                "x-rate-limit-remaining": "97",
                "x-user-limit-24hour-limit": "17",
                "x-user-limit-24hour-remaining": "0",
                "x-user-limit-24hour-reset": str(reset),
            },
        ),
        platform_errors=X_ERRORS,
    )
    assert outcome.kind == "deferred" and outcome.code == "x:x-user-limit-24hour"
    assert 7100 < outcome.retry_after <= 7200
    # a plain 15-minute rate limit stays retryable
    assert (
        classify(
            response(
                429,
                b'{"title":"Too Many Requests","type":"about:blank","status":429}',
                {"x-user-limit-24hour-remaining": "5"},
            ),
            platform_errors=X_ERRORS,
        ).kind
        == "retryable"
    )


def test_x_invalid_request_message_carries_the_reason():
    outcome = classify(
        response(
            400,
            b'{"errors":[{"parameters":{"text":["..."]},"message":"Your Tweet text is too '
            b'long."}],"title":"Invalid Request","detail":"One or more parameters to your '
            b'request was invalid.","type":"https://api.x.com/2/problems/invalid-request"}',
        ),
        platform_errors=X_ERRORS,
    )
    assert (outcome.kind, outcome.code) == ("permanent", "x:invalid-request")
    assert outcome.message.endswith("Your Tweet text is too long.")


# --- LinkedIn error bodies (shapes captured from the real API; see sandbox/linkedin.py) ---------
def _li(status: int, body: dict, headers: dict | None = None):
    import json as _json

    return classify(response(status, _json.dumps(body).encode(), headers), platform_errors=LINKEDIN_ERRORS)


def test_linkedin_revoked_and_invalid_tokens_are_auth():
    revoked = _li(
        401,
        {
            "status": 401,
            "serviceErrorCode": 65601,
            "code": "REVOKED_ACCESS_TOKEN",
            "message": "The token used in the request has been revoked by the user",
        },
    )
    assert (revoked.kind, revoked.code) == ("auth", "linkedin:REVOKED_ACCESS_TOKEN")
    legacy = _li(401, {"serviceErrorCode": 65600, "message": "Invalid access token", "status": 401})
    assert (legacy.kind, legacy.code, legacy.message) == ("auth", "linkedin:65600", "Invalid access token")


def test_linkedin_inactive_version_and_access_denied_are_permanent_with_code_and_message():
    version = _li(
        426, {"status": 426, "code": "NONEXISTENT_VERSION", "message": "Requested version 20240401 is not active"}
    )
    assert (version.kind, version.code) == ("permanent", "linkedin:NONEXISTENT_VERSION")
    assert version.message == "Requested version 20240401 is not active"
    denied = _li(
        403,
        {
            "status": 403,
            "serviceErrorCode": 100,
            "code": "ACCESS_DENIED",
            "message": "Not enough permissions to access: POST /rest/posts",
        },
    )
    assert (denied.kind, denied.code) == ("permanent", "linkedin:ACCESS_DENIED")


def test_linkedin_throttle_without_retry_after_is_retryable_and_a_day_limit_is_deferred_to_utc_midnight():
    short = _li(
        429,
        {
            "status": 429,
            "serviceErrorCode": 101,
            "message": "Resource level throttle limit for calls to this resource is reached.",
        },
    )
    assert (short.kind, short.code, short.retry_after) == ("retryable", "linkedin:101", None)
    daily = _li(
        429,
        {
            "status": 429,
            "serviceErrorCode": 101,
            "code": "TOO_MANY_REQUESTS",
            "message": "Resource level throttle APPLICATION DAY limit for calls to this resource is reached.",
        },
    )
    assert daily.kind == "deferred" and 0 < daily.retry_after <= 86400
    import time as _time

    midnight = (int(_time.time()) // 86400 + 1) * 86400
    assert abs(_time.time() + daily.retry_after - midnight) < 5


def test_linkedin_server_errors_are_retryable():
    assert (
        _li(500, {"status": 500, "code": "INTERNAL_SERVER_ERROR", "message": "Internal Server Error"}).kind
        == "retryable"
    )
    assert _li(504, {"status": 504, "code": "GATEWAY_TIMEOUT", "message": "Gateway Timeout"}).kind == "retryable"


def test_instagram_container_not_ready_is_retryable():
    # IG error codes reference: 9007 / 2207027 "The media is not ready for publishing, please wait".
    body = (
        b'{"error": {"message": "Media ID is not available", "type": "OAuthException", "code": 9007,'
        b' "error_subcode": 2207027, "is_transient": false}}'
    )
    outcome = classify(response(400, body), platform_errors=META_ERRORS)
    assert (outcome.kind, outcome.code) == ("retryable", "meta:9007/2207027")


def test_instagram_throttle_on_403_reads_buc_regain_minutes():
    # Meta sends throttles as code 4/17/32/80002 on HTTP 400/403, no Retry-After; the BUC header
    # says when access comes back, in minutes.
    body = b'{"error": {"message": "(#4) Application request limit reached", "type": "OAuthException", "code": 4}}'
    buc = '{"17841400000000001": [{"type": "instagram", "call_count": 100, "estimated_time_to_regain_access": 3}]}'
    outcome = classify(response(403, body, {"X-Business-Use-Case-Usage": buc}), platform_errors=META_ERRORS)
    assert (outcome.kind, outcome.code, outcome.retry_after) == ("retryable", "meta:4", 180.0)


def test_instagram_expired_token_on_400_is_auth():
    body = (
        b'{"error": {"message": "Error validating access token: Session has expired", "type": "OAuthException",'
        b' "code": 190, "error_subcode": 463}}'
    )
    assert classify(response(400, body), platform_errors=META_ERRORS).kind == "auth"


def test_an_exception_outcome_never_quotes_the_url_it_was_sent_to():
    # requests puts the URL in the text; a pre-signed upload URL or a query token must not travel on.
    url = "https://www.linkedin.com/dms-uploads/sp/v2/D4D?ut=SECRET-UPLOAD-TOKEN&access_token=SECRET"
    for error in (requests.ReadTimeout(f"read timed out: {url}"), requests.ConnectionError(f"refused: {url}")):
        assert "SECRET" not in classify(error=error).message


# --- platform hints first: what each platform's headers say to wait ----------------------------


def test_x_waits_for_x_rate_limit_reset_or_a_longer_retry_after():
    now = int(time.time())

    def hint(headers):
        outcome = classify(response(429, b"", headers), platform_errors=X_ERRORS)
        assert outcome.kind == "retryable"
        return outcome.retry_after

    in_5_minutes = {"x-rate-limit-limit": "100", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(now + 300)}
    assert 290 <= hint(in_5_minutes) <= 300
    assert hint({**in_5_minutes, "Retry-After": "900"}) == 900  # the later of the two
    assert 290 <= hint({**in_5_minutes, "Retry-After": "5"}) <= 300
    assert hint({**in_5_minutes, "x-rate-limit-reset": str(now - 60)}) == 0.0  # the window has reset already
    # Calls left in this endpoint's window: its reset says nothing about this 429.
    assert hint({**in_5_minutes, "x-rate-limit-remaining": "12"}) is None
    assert hint({"x-rate-limit-remaining": "0", "x-rate-limit-reset": "soon"}) is None
    assert hint({}) is None  # the queue's own backoff applies


def test_x_a_used_up_24_hour_cap_defers_until_its_epoch_reset():
    reset = int(time.time()) + 3600
    headers = {"x-app-limit-24hour-remaining": "0", "x-app-limit-24hour-reset": str(reset)}
    outcome = classify(response(429, b"{}", headers), platform_errors=X_ERRORS)
    assert (outcome.kind, outcome.code) == ("deferred", "x:x-app-limit-24hour")
    assert 3590 <= outcome.retry_after <= 3600


def test_meta_waits_for_the_longest_buc_estimate_in_minutes_and_app_usage_gives_no_time():
    throttle = json.dumps({"error": {"message": "(#4) Application request limit reached", "code": 4}}).encode()

    def hint(headers):
        outcome = classify(response(403, throttle, headers), platform_errors=META_ERRORS)
        assert (outcome.kind, outcome.code) == ("retryable", "meta:4")
        return outcome.retry_after

    buc = {
        "104857600000001": [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 2}],
        "17841400000000001": [
            {"type": "instagram", "call_count": 40, "estimated_time_to_regain_access": 0},
            {"type": "instagram", "total_time": 100, "estimated_time_to_regain_access": 5},
        ],
    }
    assert hint({"X-Business-Use-Case-Usage": json.dumps(buc)}) == 5 * 60
    assert hint({"X-Business-Use-Case-Usage": json.dumps(buc), "Retry-After": "900"}) == 900  # the later
    # X-App-Usage holds percentages only: no time to wait, so a throttle waits its default minute.
    assert hint({"X-App-Usage": '{"call_count": 100, "total_time": 40, "total_cputime": 10}'}) == 60.0
    assert hint({"X-Business-Use-Case-Usage": json.dumps({"1": [{"estimated_time_to_regain_access": 0}]})}) == 60.0
    assert hint({"X-Business-Use-Case-Usage": "not json"}) == 60.0
    # A transient server error carries the estimate too.
    transient = json.dumps({"error": {"message": "busy", "code": 2, "is_transient": True}}).encode()
    outcome = classify(
        response(500, transient, {"X-Business-Use-Case-Usage": json.dumps(buc)}), platform_errors=META_ERRORS
    )
    assert (outcome.kind, outcome.retry_after) == ("retryable", 300.0)


def test_linkedin_honours_a_retry_after_when_one_is_sent():
    body = json.dumps({"status": 429, "serviceErrorCode": 101, "code": "TOO_MANY_REQUESTS", "message": "slow down"})
    outcome = classify(response(429, body.encode(), {"Retry-After": "30"}), platform_errors=LINKEDIN_ERRORS)
    assert (outcome.kind, outcome.code, outcome.retry_after) == ("retryable", "linkedin:TOO_MANY_REQUESTS", 30.0)
