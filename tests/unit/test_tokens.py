"""The token domain (socialomega/tokens) against the platform fakes over real HTTP: health
classification, refresh writing the secret (compare-before-write), refusals and expired tokens."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from socialomega.core import deadline
from socialomega.core.config import ConfigError
from socialomega.sandbox import facebook as fb_fake
from socialomega.sandbox import instagram as ig_fake
from socialomega.sandbox import linkedin as li_fake
from socialomega.sandbox import x as x_fake
from socialomega.sandbox.server import serve
from socialomega.tokens import check_tokens, refresh_tokens
from socialomega.tokens.health import classify, epoch
from tests.unit.fakes import MemoryCredentials

NOW = datetime.now(UTC)
DAY = 86400


class Secrets(MemoryCredentials):
    """A target's secret; counts the fresh reads (the compare-before-write reads one)."""

    def __init__(self, value: dict[str, Any]) -> None:
        super().__init__(value)
        self.fresh_reads = 0

    def current(self, *, fresh: bool = False) -> dict[str, Any]:
        self.fresh_reads += fresh
        return super().current(fresh=fresh)


class Configuration:
    """`core.config.Configuration`'s two calls the token domain makes: the targets and secrets."""

    def __init__(self, targets: list[dict[str, Any]], secrets: dict[str, dict[str, Any]]) -> None:
        self.targets = targets
        self.secrets = {name: Secrets(value) for name, value in secrets.items()}

    def parameter(self, name: str) -> Any:
        assert name == "targets"
        return self.targets

    def credentials(self, name: str) -> Secrets:
        return self.secrets[name]


@pytest.fixture
def instagram():
    fake = ig_fake.InstagramFake()
    with serve(fake) as url:
        yield fake, url


@pytest.fixture
def linkedin():
    fake = li_fake.LinkedInFake()
    with serve(fake) as url:
        yield fake, url


def one(fake_module: Any, url: str, name: str, **secret: Any) -> Configuration:
    return Configuration([fake_module.sandbox_target(url, name)], {name: {**fake_module.sandbox_secret(), **secret}})


# --- classification ---------------------------------------------------------------------------------
def test_a_valid_token_is_classified_by_the_time_it_has_left():
    assert classify(None, NOW, 14) == "never_expires"
    assert classify(NOW - timedelta(seconds=1), NOW, 14) == "expired"
    assert classify(NOW, NOW, 14) == "expired"
    assert classify(NOW + timedelta(days=14), NOW, 14) == "expiring"
    assert classify(NOW + timedelta(days=14, seconds=1), NOW, 14) == "ok"


def test_graphs_zero_expiry_means_never_and_garbage_is_no_expiry():
    assert epoch(0) is None and epoch("0") is None and epoch(None) is None and epoch("soon") is None
    assert epoch(1_800_000_000) == datetime.fromtimestamp(1_800_000_000, UTC)


# --- Instagram (Facebook Login, debug_token + fb_exchange_token) -------------------------------------
def test_a_fresh_instagram_token_is_ok_with_its_expiry_scopes_and_refreshable(instagram):
    fake, url = instagram
    [health] = check_tokens(one(ig_fake, url, "ig"), now=NOW)
    assert (health.target, health.platform, health.status, health.refreshable) == ("ig", "instagram", "ok", True)
    assert 59.9 < health.days_left < 60.1
    assert "instagram_content_publish" in health.scopes
    assert ig_fake.ACCESS_TOKEN not in json.dumps(health.as_dict())


def test_an_instagram_token_near_expiry_is_refreshed_into_the_secret_and_keeps_publishing(instagram):
    fake, url = instagram
    fake.set_token_expiry(5 * DAY)
    configuration = one(ig_fake, url, "ig")
    [before] = check_tokens(configuration, now=NOW)
    assert (before.status, round(before.days_left)) == ("expiring", 5)

    [result] = refresh_tokens(configuration, within_days=14, now=NOW)

    assert result.action == "refreshed", result.detail
    secret = configuration.secrets["ig"]
    [written] = secret.writes
    assert written["access_token"] == fake.token != ig_fake.ACCESS_TOKEN
    assert (written["app_id"], written["app_secret"]) == (ig_fake.APP_ID, ig_fake.APP_SECRET)  # other keys kept
    assert 59.9 * DAY < written["expires_at"] - NOW.timestamp() < 60.1 * DAY
    assert result.after is not None and result.after.status == "ok" and result.after.days_left > 59
    # The new token works on the API (the publisher's next call).
    me = requests.get(
        f"{url}/v25.0/{ig_fake.IG_USER_ID}", headers={"Authorization": f"Bearer {written['access_token']}"}, timeout=5
    )
    assert me.status_code == 200

    [again] = refresh_tokens(configuration, within_days=14, now=NOW)  # a second run changes nothing
    assert again.action == "not_due" and len(secret.writes) == 1


def test_an_expired_instagram_token_reports_expired_with_the_reason_and_is_not_refreshed(instagram):
    fake, url = instagram
    fake.set_token_expiry(-60)
    configuration = one(ig_fake, url, "ig")
    [health] = check_tokens(configuration, now=NOW)
    assert health.status == "expired" and not health.refreshable
    assert "Session has expired" in health.detail and "log in again" in health.detail
    [result] = refresh_tokens(configuration, now=NOW)
    assert result.action == "not_refreshable" and configuration.secrets["ig"].writes == []


def test_graph_refuses_to_exchange_an_expired_token_with_code_190(instagram):
    fake, url = instagram
    fake.expire_token()
    answer = requests.get(
        f"{url}/v25.0/oauth/access_token",
        params={
            "grant_type": "fb_exchange_token",
            "client_id": ig_fake.APP_ID,
            "client_secret": ig_fake.APP_SECRET,
            "fb_exchange_token": ig_fake.ACCESS_TOKEN,
        },
        timeout=5,
    )
    assert answer.status_code == 400
    assert (answer.json()["error"]["code"], answer.json()["error"]["error_subcode"]) == (190, 463)


def test_debug_token_needs_the_app_token(instagram):
    _, url = instagram
    answer = requests.get(
        f"{url}/v25.0/debug_token",
        params={"input_token": ig_fake.ACCESS_TOKEN, "access_token": f"{ig_fake.APP_ID}|wrong"},
        timeout=5,
    )
    assert answer.status_code == 400 and answer.json()["error"]["code"] == 190


def test_without_app_credentials_the_expiry_is_unknown_and_says_what_to_add(instagram):
    fake, url = instagram
    configuration = Configuration([ig_fake.sandbox_target(url, "ig")], {"ig": {"access_token": ig_fake.ACCESS_TOKEN}})
    [health] = check_tokens(configuration, now=NOW)
    assert health.status == "unknown" and "add app_id and app_secret" in health.detail
    assert fake.request_log() == []  # nothing to ask without them


def test_a_secret_rotated_meanwhile_is_not_overwritten(instagram):
    fake, url = instagram
    fake.set_token_expiry(3 * DAY)
    configuration = one(ig_fake, url, "ig")
    secret = configuration.secrets["ig"]
    reads = {"n": 0}
    original = secret.current

    def rotating(*, fresh: bool = False) -> dict[str, Any]:
        value = original(fresh=fresh)
        if fresh:
            reads["n"] += 1
            if reads["n"] >= 3:  # check, refresh, then the compare-before-write: an operator got there first
                value["access_token"] = "operator-put-this-one"
        return value

    secret.current = rotating  # type: ignore[method-assign]
    [result] = refresh_tokens(configuration, now=NOW)
    assert result.action == "rotated_elsewhere" and secret.writes == []


def test_the_deadline_stops_a_check_before_it_is_sent(instagram):
    fake, url = instagram
    with deadline.bound(deadline.Deadline.in_seconds(0.5)):
        [health] = check_tokens(one(ig_fake, url, "ig"), now=NOW)
    assert health.status == "unknown" and "deadline" in health.detail
    assert fake.request_log() == []


# --- Facebook Page ------------------------------------------------------------------------------------
def test_a_page_token_from_a_long_lived_user_token_never_expires_and_is_not_refreshed():
    fake = fb_fake.FacebookPageFake()
    with serve(fake) as url:
        configuration = one(fb_fake, url, "fb")
        [health] = check_tokens(configuration, now=NOW)
        assert (health.status, health.expires_at, health.days_left, health.refreshable) == (
            "never_expires",
            None,
            None,
            False,
        )
        assert "PAGE token" in health.detail
        [result] = refresh_tokens(configuration, now=NOW, force=True)
        assert result.action == "not_refreshable" and configuration.secrets["fb"].writes == []
        fake.expire_token()
        [expired] = check_tokens(configuration, now=NOW)
        assert expired.status == "expired" and "Page token" in expired.detail


# --- LinkedIn (introspection + refresh token) ---------------------------------------------------------
def test_a_linkedin_token_is_introspected(linkedin):
    _, url = linkedin
    [health] = check_tokens(one(li_fake, url, "li"), now=NOW)
    assert (health.status, health.refreshable) == ("ok", True)
    assert 59.9 < health.days_left < 60.1 and "w_member_social" in health.scopes


def test_a_linkedin_token_near_expiry_is_refreshed_and_the_refresh_token_end_stored(linkedin):
    fake, url = linkedin
    fake.set_token_expiry(2 * DAY)
    configuration = one(li_fake, url, "li")
    [result] = refresh_tokens(configuration, now=NOW)
    assert result.action == "refreshed", result.detail
    [written] = configuration.secrets["li"].writes
    assert written["access_token"] == fake.current_token != li_fake.ACCESS_TOKEN
    assert written["refresh_token"] == li_fake.REFRESH_TOKEN  # LinkedIn does not rotate it
    assert 364 * DAY < written["refresh_token_expires_at"] - NOW.timestamp() <= 365 * DAY
    assert result.after is not None and result.after.status == "ok"
    assert result.after.refresh_expires_at is not None


def test_a_linkedin_refresh_refused_says_to_reauthorise_and_writes_nothing(linkedin):
    fake, url = linkedin
    fake.set_token_expiry(2 * DAY)
    fake.set_refresh(granted=False)  # not an MDP partner
    configuration = one(li_fake, url, "li")
    [result] = refresh_tokens(configuration, now=NOW)
    assert result.action == "refused" and result.failed
    assert "unauthorized_client" in result.detail and "authorise the app again" in result.detail
    assert configuration.secrets["li"].writes == []


def test_an_expired_linkedin_token_without_a_refresh_token_is_expired_and_not_refreshable(linkedin):
    fake, url = linkedin
    fake.set_token_expiry(-1)
    secret = {k: v for k, v in li_fake.sandbox_secret().items() if k != "refresh_token"}
    configuration = Configuration([li_fake.sandbox_target(url, "li")], {"li": secret})
    [health] = check_tokens(configuration, now=NOW)
    assert (health.status, health.refreshable) == ("expired", False)
    assert "expired" in health.detail and "authorise the app again" in health.detail
    headers = {
        "Authorization": f"Bearer {li_fake.ACCESS_TOKEN}",
        "Linkedin-Version": li_fake.sandbox_version(),
        "X-Restli-Protocol-Version": "2.0.0",
    }
    answer = requests.get(f"{url}/rest/posts/x", headers=headers, timeout=5)
    assert (answer.status_code, answer.json()["code"]) == (401, "EXPIRED_ACCESS_TOKEN")  # the API refuses it too


def test_introspection_with_a_wrong_client_secret_is_unknown_not_invalid(linkedin):
    _, url = linkedin
    [health] = check_tokens(one(li_fake, url, "li", client_secret="wrong"), now=NOW)
    assert health.status == "unknown" and "client secret" in health.detail


# --- X (RotatingToken, the publisher's one way) -------------------------------------------------------
class FailingWrites(Secrets):
    """A secret whose first `failures` writes fail, as a Secrets Manager outage would."""

    def __init__(self, value: dict[str, Any], failures: int) -> None:
        super().__init__(value)
        self.failures = failures
        self.tries = 0

    def replace(self, value: dict[str, Any]) -> None:
        self.tries += 1
        if self.tries <= self.failures:
            raise ConnectionError("https://secretsmanager.example/ unreachable")
        super().replace(value)


@pytest.fixture
def x_service(monkeypatch):
    from socialomega.tokens import health

    monkeypatch.setattr(health, "WRITE_BACKOFF_SECONDS", 0.0)  # the waits, not their length, are under test
    fake = x_fake.XFake()
    with serve(fake) as url:
        yield fake, url


def test_the_keeper_never_rotates_x_and_its_health_comes_from_the_stored_pair(x_service):
    fake, url = x_service
    # The publisher renewed it an hour ago: its two-hour access token ends in an hour.
    configuration = one(x_fake, url, "x", expires_at=int(NOW.timestamp()) + 3600)
    [health] = check_tokens(configuration, now=NOW, expiring_days=14)
    assert (health.status, health.expires_at, health.days_left, health.refreshable) == ("ok", None, None, True)
    assert "refresh grant present" in health.detail and "Not verified" in health.detail
    assert f"last renewed about {NOW - timedelta(seconds=3600):%Y-%m-%d %H:%M}" in health.detail
    for force in (False, True):  # a run of every target, forced or not, leaves the rotating pair alone
        [result] = refresh_tokens(configuration, now=NOW, force=force)
        assert result.action == "not_due" and "--target x" in result.detail, result
    assert configuration.secrets["x"].writes == [] and fake.refresh_tokens.keys() == {x_fake.REFRESH_TOKEN}


def test_an_x_secret_without_its_refresh_grant_is_invalid_not_expiring(x_service):
    _, url = x_service
    configuration = one(x_fake, url, "x", refresh_token="", expires_at=int(NOW.timestamp()) + 600)
    [health] = check_tokens(configuration, now=NOW)
    assert (health.status, health.days_left) == ("invalid", None)
    assert "lacks refresh_token" in health.detail and "authorise the app again" in health.detail


def test_an_operator_names_x_to_rotate_it_and_a_refusal_says_to_reauthorise(x_service):
    fake, url = x_service
    configuration = one(x_fake, url, "x")
    [result] = refresh_tokens(configuration, targets=["x"], now=NOW)
    assert result.action == "refreshed" and result.detail == "rotated and written to the secret", result.detail
    [written] = configuration.secrets["x"].writes
    assert written["refresh_token"] != x_fake.REFRESH_TOKEN and written["access_token"] != x_fake.ACCESS_TOKEN
    fake.revoke_refresh()
    [refused] = refresh_tokens(configuration, targets=["x"], now=NOW)
    assert refused.action == "refused" and "authorise the app again" in refused.detail


def test_a_rotated_x_pair_whose_write_fails_is_written_again(x_service):
    _, url = x_service
    configuration = one(x_fake, url, "x")
    configuration.secrets["x"] = secrets = FailingWrites(configuration.secrets["x"].value, failures=2)
    [result] = refresh_tokens(configuration, targets=["x"], now=NOW)
    assert result.action == "refreshed" and "on try 3" in result.detail, result.detail
    [written] = secrets.writes
    assert written["refresh_token"] != x_fake.REFRESH_TOKEN and secrets.value == written


def test_a_rotated_x_pair_that_cannot_be_written_says_the_grant_may_be_lost_and_what_to_do(x_service):
    from socialomega.tokens import health

    _, url = x_service
    configuration = one(x_fake, url, "x")
    configuration.secrets["x"] = secrets = FailingWrites(configuration.secrets["x"].value, failures=100)
    [result] = refresh_tokens(configuration, targets=["x"], now=NOW)
    assert result.action == "failed" and result.failed
    assert "THE GRANT MAY BE LOST" in result.detail and "authorise the app again" in result.detail
    assert f"failed {health.WRITE_ATTEMPTS} time(s) (ConnectionError)" in result.detail
    assert secrets.tries == 1 + health.WRITE_ATTEMPTS and secrets.writes == []
    assert "secretsmanager.example" not in result.detail  # the cause by type only


def test_the_write_retries_stop_at_the_deadline(x_service, monkeypatch):
    from socialomega.tokens import health

    _, url = x_service
    monkeypatch.setattr(health, "WRITE_BACKOFF_SECONDS", 60.0)
    configuration = one(x_fake, url, "x")
    configuration.secrets["x"] = secrets = FailingWrites(configuration.secrets["x"].value, failures=100)
    # Time for X's answer (30 s), none for a 60 s wait: one retry at once, then the report.
    with deadline.bound(deadline.Deadline.in_seconds(30.0, margin=0.0)):
        [result] = refresh_tokens(configuration, targets=["x"], now=NOW)
    assert result.action == "failed" and "failed 1 time(s)" in result.detail and secrets.tries == 2


def test_a_renewed_token_whose_write_keeps_failing_is_reported_and_the_old_one_kept(instagram, monkeypatch):
    from socialomega.tokens import health

    monkeypatch.setattr(health, "WRITE_BACKOFF_SECONDS", 0.0)  # the tries, not their waits, are under test
    fake, url = instagram
    fake.set_token_expiry(5 * DAY)
    configuration = one(ig_fake, url, "ig")
    configuration.secrets["ig"] = secrets = FailingWrites(configuration.secrets["ig"].value, failures=100)
    with deadline.bound(deadline.Deadline.in_seconds(600.0)):
        [result] = refresh_tokens(configuration, now=NOW)
    assert result.action == "failed" and secrets.tries == health.WRITE_ATTEMPTS
    assert "the stored token still works" in result.detail and secrets.value["access_token"] == ig_fake.ACCESS_TOKEN


# --- configuration -----------------------------------------------------------------------------------
def test_an_unknown_target_name_is_a_clear_error(instagram):
    _, url = instagram
    with pytest.raises(ConfigError, match="no enabled target named nope"):
        check_tokens(one(ig_fake, url, "ig"), targets=["nope"])


def test_a_secret_without_its_token_is_invalid_and_rest_targets_are_not_listed(instagram):
    _, url = instagram
    rest = {"name": "rest", "platform": "rest", "endpoint": {"url": "https://api.example.com/v1/posts"}}
    configuration = Configuration([rest, ig_fake.sandbox_target(url, "ig")], {"ig": {"app_id": "1"}, "rest": {}})
    [health] = check_tokens(configuration, now=NOW)
    assert (health.target, health.status) == ("ig", "invalid") and "'access_token'" in health.detail


def test_an_instagram_login_host_is_read_from_the_stored_expiry_only():
    target = {**ig_fake.sandbox_target("https://graph.instagram.com", "ig"), "allow_private_network": False}
    expires = int(NOW.timestamp()) + 30 * DAY
    configuration = Configuration([target], {"ig": {**ig_fake.sandbox_secret(), "expires_at": expires}})
    [health] = check_tokens(configuration, now=NOW)  # no call leaves: nothing listens there in a test
    assert (health.status, round(health.days_left), health.refreshable) == ("ok", 30, False)
    assert "Instagram Login" in health.detail
