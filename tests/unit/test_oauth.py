"""core/oauth.RotatingToken against the sandbox's Adobe IMS token endpoint (real HTTP)."""

from __future__ import annotations

import pytest
import requests

from socialomega.core.config import ConfigError
from socialomega.core.oauth import RotatingToken, TokenRefreshFailed, TokenRefused
from socialomega.sandbox import lightroom
from tests.unit.fakes import MemoryCredentials

NOW = 1_800_000_000.0
SANDBOX_PHOTO_COUNT = 0  # the IMS token endpoint only: no Lightroom photos needed


class Log:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict]] = []

    def info(self, event: str, **kw) -> None:
        self.events.append((event, kw))

    error = warning = info


def secret(**overrides) -> dict:
    return {
        "client_id": lightroom.API_KEY,
        "client_secret": lightroom.CLIENT_SECRET,
        "access_token": lightroom.ACCESS_TOKEN,
        "refresh_token": lightroom.REFRESH_TOKEN,
        **overrides,
    }


def rotating(sandbox, credentials, log=None, url=None, **kw) -> RotatingToken:
    return RotatingToken(
        credentials,
        url or sandbox.lightroom_url + lightroom.IMS_TOKEN_PATH,
        client_auth="body",
        session=requests.Session(),
        timeout=5,
        log=log or Log(),
        what="Lightroom",
        default_expires_in=86400,
        clock=lambda: NOW,
        **kw,
    )


def test_a_valid_token_is_used_without_refreshing(sandbox, lr):
    creds = MemoryCredentials(secret(expires_at=NOW + 3600))
    assert rotating(sandbox, creds).access_token() == lightroom.ACCESS_TOKEN
    assert lr.token_refreshes == 0 and creds.writes == []


def test_a_token_near_expiry_is_refreshed_and_the_rotated_pair_written_back(sandbox, lr):
    creds, log = MemoryCredentials(secret(expires_at=NOW + 60)), Log()
    token = rotating(sandbox, creds, log).access_token()
    assert token == f"{lightroom.ACCESS_TOKEN}-1" and lr.token_refreshes == 1
    assert creds.writes == [
        secret(
            access_token=token,
            refresh_token=f"{lightroom.REFRESH_TOKEN}-1",
            expires_at=int(NOW + lightroom.IMS_EXPIRES_IN),
        )
    ]
    assert [e for e, _ in log.events] == ["token_refreshed"]
    assert token not in repr(log.events)


def test_refresh_tokens_are_single_use(sandbox, lr):
    rotating(sandbox, MemoryCredentials(secret())).refresh(stale=lightroom.ACCESS_TOKEN)
    with pytest.raises(TokenRefused) as exc:  # a second process still holding the old pair
        rotating(sandbox, MemoryCredentials(secret())).refresh(stale=lightroom.ACCESS_TOKEN)
    assert (exc.value.status, exc.value.error) == (400, "invalid_grant")
    assert lightroom.REFRESH_TOKEN not in str(exc.value)


def test_a_pair_rotated_by_another_invocation_is_used_instead_of_refreshing(sandbox, lr):
    creds, log = MemoryCredentials(secret(access_token="newer", expires_at=NOW + 7200)), Log()
    assert rotating(sandbox, creds, log).refresh(stale=lightroom.ACCESS_TOKEN) == "newer"
    assert lr.token_refreshes == 0 and [e for e, _ in log.events] == ["token_rotated_elsewhere"]


def test_a_wrong_client_secret_is_refused(sandbox, lr):
    with pytest.raises(TokenRefused) as exc:
        rotating(sandbox, MemoryCredentials(secret(client_secret="wrong"))).refresh(stale=lightroom.ACCESS_TOKEN)
    assert (exc.value.status, exc.value.error) == (401, "invalid_client")
    assert "wrong" not in str(exc.value)


def test_an_unreachable_token_endpoint_is_worth_retrying(sandbox, lr):
    with pytest.raises(TokenRefreshFailed) as exc:
        rotating(sandbox, MemoryCredentials(secret()), url="http://127.0.0.1:9/ims/token/v3").refresh(
            stale=lightroom.ACCESS_TOKEN
        )
    assert exc.value.kind == "retryable" and "ConnectionError" in str(exc.value)


def test_a_secret_without_a_refresh_token_is_a_config_error(sandbox, lr):
    with pytest.raises(ConfigError, match="Lightroom secret lacks refresh_token"):
        rotating(sandbox, MemoryCredentials(secret(refresh_token=""))).access_token()


def test_a_failed_write_back_still_returns_the_new_token(sandbox, lr):
    class ReadOnly(MemoryCredentials):
        def replace(self, value):
            raise RuntimeError("AccessDenied")

    log = Log()
    tokens = rotating(sandbox, ReadOnly(secret()), log)
    token = tokens.refresh(stale=lightroom.ACCESS_TOKEN)
    assert token == f"{lightroom.ACCESS_TOKEN}-1" and tokens.unsaved
    assert log.events == [("token_write_back_failed", {"error": "RuntimeError"})]


def test_an_early_refresh_that_fails_transiently_keeps_the_still_valid_token(sandbox, lr):
    log = Log()
    tokens = rotating(
        sandbox, MemoryCredentials(secret(expires_at=NOW + 120)), log, url="http://127.0.0.1:9/ims/token/v3"
    )
    assert tokens.access_token() == lightroom.ACCESS_TOKEN
    assert log.events == [("token_refresh_postponed", {"code": "token_connection_error"})]
    expired = rotating(sandbox, MemoryCredentials(secret(expires_at=NOW - 1)), url="http://127.0.0.1:9/x")
    with pytest.raises(TokenRefreshFailed):  # past expiry there is nothing to fall back on
        expired.access_token()


def test_losing_a_refresh_race_uses_the_winners_pair(sandbox, lr):
    class RaceLost(MemoryCredentials):
        """The first read is the spent pair; by the second, the winner has stored its own."""

        def current(self, *, fresh=False):
            self.reads = getattr(self, "reads", 0) + 1
            return (
                dict(self.value)
                if self.reads == 1
                else secret(access_token="winner", refresh_token="winner-refresh", expires_at=NOW + 86000)
            )

    lr.refresh_token = "winner-refresh"  # IMS already rotated the pair we hold
    log = Log()
    assert rotating(sandbox, RaceLost(secret()), log).refresh(stale=lightroom.ACCESS_TOKEN) == "winner"
    assert ("token_rotated_elsewhere", {}) in log.events and lr.token_refreshes == 0
