"""The preflight's checks (services/socialomega/ops/preflight.py): each failure's exact message
and fix, with AWS's answers given by botocore's Stubber on real clients (the wire protocol is
covered by terraform/tests/deploy/run against a stub endpoint)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, NoCredentialsError
from botocore.stub import Stubber

from socialomega.core import oauth
from socialomega.ops import preflight
from socialomega.ops.preflight import Check, Needs

EXAMPLE = preflight.ROOT / "terraform.tfvars.example"
INSTAGRAM = {"name": "instagram", "platform": "instagram", "spec": {}, "ig_user_id": "17841400000000000"}
REST = {
    "name": "portfolio",
    "platform": "rest",
    "spec": {},
    "endpoint": {"url": "https://api.example.com/p", "auth": {"type": "api_key"}},
}


def client(service: str) -> Any:
    return boto3.client(service, region_name="eu-west-1", aws_access_key_id="stub", aws_secret_access_key="stub")


def needs(**changes: Any) -> Needs:
    base: dict[str, Any] = {
        "env": "test",
        "targets": [INSTAGRAM, REST],
        "memory_sizes": {"poller": 512, "processor": 1024},
        "reserved_concurrency": {"poller": 1},
        "queue_concurrency": {"processor": 5, "analytics": 2, "publisher-instagram": 2, "publisher-portfolio": 2},
    }
    return Needs(**(base | changes))


def settings(quota: int, unreserved: int) -> dict[str, Any]:
    return {"AccountLimit": {"ConcurrentExecutions": quota, "UnreservedConcurrentExecutions": unreserved}}


# --- region and credentials ------------------------------------------------------------------


def test_no_region_fails_saying_how_to_set_one() -> None:
    assert preflight.check_region(None) == Check(
        "region",
        "fail",
        "no AWS region: neither AWS_REGION, AWS_DEFAULT_REGION nor the profile names one",
        "export AWS_REGION=<region> (e.g. eu-west-1), or: aws configure set region <region>",
    )
    assert preflight.check_region("eu-west-1") == Check("region", "ok", "eu-west-1")


def test_the_region_is_given_then_aws_region_then_aws_default_region_then_the_profiles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from socialomega.core import aws

    config = tmp_path / "config"
    config.write_text("[default]\nregion = ap-south-1\n[profile ops]\nregion = eu-north-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    assert aws.region() == "ap-south-1"
    assert aws.region(profile="ops") == "eu-north-1"
    assert aws.region(configured=False) is None  # a local stack's: never a profile's
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    assert aws.region(profile="ops") == "eu-west-2"
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    assert aws.region(profile="ops") == "eu-west-3"
    assert aws.region("us-west-2") == "us-west-2"
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_PROFILE", "ops")
    assert preflight.resolve_region() == "eu-north-1"
    assert preflight.os.environ["AWS_DEFAULT_REGION"] == "eu-north-1"  # what boto3's clients read


CREDENTIALS_FIX = (
    "set AWS_PROFILE (aws configure sso, then aws sso login --profile <name>) "
    "or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; aws sts get-caller-identity must answer"
)


def test_no_credentials_fails_saying_how_to_get_them() -> None:
    class NoCredentials:
        def get_caller_identity(self) -> None:
            raise NoCredentialsError()

    assert preflight.check_credentials(NoCredentials()) == (
        Check("credentials", "fail", "no AWS credentials found", CREDENTIALS_FIX),
        None,
    )


def test_refused_credentials_name_the_reason() -> None:
    sts = client("sts")
    with Stubber(sts) as stub:
        stub.add_client_error(
            "get_caller_identity", "ExpiredToken", "The security token included in the request is expired"
        )
        check, account = preflight.check_credentials(sts)
    assert check == Check("credentials", "fail", "AWS refused the credentials (ExpiredToken)", CREDENTIALS_FIX)
    assert account is None


def test_credentials_give_the_account() -> None:
    sts = client("sts")
    with Stubber(sts) as stub:
        stub.add_response(
            "get_caller_identity",
            {"Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/me", "UserId": "AIDA"},
        )
        check, account = preflight.check_credentials(sts)
    assert check == Check("credentials", "ok", "account 123456789012 as arn:aws:iam::123456789012:user/me")
    assert account == "123456789012"


# --- Lambda concurrency and memory ---------------------------------------------------------------


def test_a_new_accounts_ten_concurrent_executions_cannot_reserve_the_pollers_one() -> None:
    reserved, queues = preflight.check_concurrency(settings(10, 10), needs())
    assert reserved == Check(
        "lambda reserved concurrency",
        "fail",
        "the functions reserve 1 (poller 1) but Lambda keeps at least 10 of the account's concurrency unreserved "
        "(account quota 10, unreserved 10): the deploy would fail with "
        '"decreases account\'s UnreservedConcurrentExecution below its minimum value"',
        "ask for a 'Concurrent executions' quota of at least 112 (1000 is the usual default): "
        "aws service-quotas request-service-quota-increase --service-code lambda --quota-code L-B99A9384 "
        "--desired-value 1000",
    )
    assert queues.status == "fail"
    assert queues.detail.startswith("the queue consumers may run 11 (4 SQS event sources' maximum_concurrency) at once")


def test_the_queues_maximum_concurrency_must_fit_what_is_left_unreserved() -> None:
    big = needs(
        queue_concurrency={"processor": 5, "analytics": 2, "publisher-instagram": 600, "publisher-portfolio": 600}
    )
    reserved, queues = preflight.check_concurrency(settings(1000, 1000), big)
    assert reserved.status == "ok"
    assert queues == Check(
        "lambda concurrency for the queues",
        "fail",
        "the queue consumers may run 1207 (4 SQS event sources' maximum_concurrency) at once, but only 999 concurrency "
        "would be left unreserved (account quota 1000, unreserved 1000): throttled deliveries count as receives and "
        "end in the DLQs",
        "ask for a 'Concurrent executions' quota of at least 1308 (1000 is the usual default): "
        "aws service-quotas request-service-quota-increase --service-code lambda --quota-code L-B99A9384 "
        "--desired-value 1308; or lower publisher_max_concurrency (2 at least) or the number of targets",
    )


def test_the_default_quota_fits() -> None:
    assert preflight.check_concurrency(settings(1000, 1000), needs()) == [
        Check("lambda reserved concurrency", "ok", "reserves 1 (poller 1); account quota 1000, unreserved 1000"),
        Check(
            "lambda concurrency for the queues", "ok", "11 (4 SQS event sources' maximum_concurrency) of 999 unreserved"
        ),
    ]


def test_a_redeploy_counts_what_its_own_functions_reserve_already() -> None:
    # quota 101: the poller's 1 is already out of the unreserved 100 Lambda keeps.
    assert preflight.check_concurrency(settings(101, 100), needs())[0].status == "fail"
    assert preflight.check_concurrency(settings(101, 100), needs(), reserved_now=1)[0].status == "ok"


def test_memory_above_3008_mb_warns_as_unconfirmed() -> None:
    assert preflight.check_memory(needs(memory_sizes={"poller": 512, "processor": 4096})) == Check(
        "lambda memory",
        "warn",
        "memory_sizes.processor = 4096 MB: new accounts have been refused more than 3008 MB "
        "(UNCONFIRMED; no API shows this account's cap)",
        'if the deploy fails with "Member must have value less than or equal to 3008", '
        "set memory_sizes.processor <= 3008 or ask AWS Support to lift the cap",
    )
    assert preflight.check_memory(needs()) == Check("lambda memory", "ok", "largest memory_size 1024 MB (processor)")


# --- API Gateway's account setting ---------------------------------------------------------------


def test_no_api_gateway_cloudwatch_role_fails_before_the_stage_would() -> None:
    apigateway = client("apigateway")
    with Stubber(apigateway) as stub:
        stub.add_response("get_account", {"throttleSettings": {"burstLimit": 5000, "rateLimit": 10000.0}})
        check = preflight.check_apigateway_role(apigateway.get_account())
    assert check == Check(
        "api gateway cloudwatch role",
        "fail",
        "API Gateway has no CloudWatch Logs role in this account and region: creating the webhook stage would fail "
        '("CloudWatch Logs role ARN must be set in account settings") after ~100 resources',
        "make account-setup (terraform/envs/aws-account: once per account and region; it changes an account-wide "
        "setting), or MANAGE_APIGW_ACCOUNT=1 make deploy; if another stack manages it, ask its owner to set it",
    )
    assert preflight.check_apigateway_role({}, managed=True).status == "ok"
    role = "arn:aws:iam::123456789012:role/logs"
    assert preflight.check_apigateway_role({"cloudwatchRoleArn": role}) == Check(
        "api gateway cloudwatch role", "ok", role
    )


# --- targets -------------------------------------------------------------------------------------


def test_a_misspelt_target_key_is_named() -> None:
    check = preflight.check_targets(needs(targets=[{**INSTAGRAM, "ig_user_idd": "1"}]))
    assert check.status == "fail"
    assert "ig_user_idd" in check.detail
    assert check.fix == "fix the targets in the tfvars (README, Configuration lists every platform's settings)"


def test_a_target_whose_longest_call_cannot_fit_its_function_is_named() -> None:
    facebook = {"name": "fb", "platform": "facebook", "spec": {}, "page_id": "100000000000000"}
    check = preflight.check_targets(needs(targets=[facebook], publisher_timeout=30))
    assert check.status == "fail" and "fb" in check.detail
    assert preflight.check_targets(needs()) == Check(
        "targets", "ok", "2 valid: instagram (instagram), portfolio (rest)"
    )


# --- secrets -------------------------------------------------------------------------------------


def test_each_platforms_secret_keys_are_what_its_publisher_reads() -> None:
    keys = preflight.target_secret_keys
    assert keys(INSTAGRAM).required == ("access_token",)
    assert keys({"name": "fb", "platform": "facebook", "page_id": "100000000000000"}).required == ("page_access_token",)
    assert keys({"name": "li", "platform": "linkedin", "author": "urn:li:person:abc"}).required == ("access_token",)
    assert keys({"name": "x", "platform": "x"}).required == oauth.REQUIRED_KEYS
    for auth, wanted in {
        "none": (),
        "api_key": ("api_key",),
        "bearer": ("token",),
        "basic": ("username", "password"),
        "oauth2_client_credentials": ("client_id", "client_secret"),
    }.items():
        target = {
            **REST,
            "endpoint": {
                "url": "https://api.example.com/p",
                "auth": {"type": auth, "token_url": "https://t.example.com"},
            },
        }
        assert keys(target).required == wanted, auth


def test_lightroom_needs_the_whole_oauth_pair_once_it_has_a_refresh_token() -> None:
    assert preflight.LIGHTROOM_KEYS.missing({"client_id": "c", "access_token": "a"}) == []
    assert preflight.LIGHTROOM_KEYS.missing({"client_id": "c", "access_token": "a", "refresh_token": "r"}) == [
        "client_secret"
    ]
    assert preflight.LIGHTROOM_KEYS.missing({"client_id": " ", "access_token": "a"}) == ["client_id"]


def test_the_webhook_keys_are_those_of_the_configured_platforms() -> None:
    assert preflight.webhook_secret_keys([INSTAGRAM, {"platform": "x"}, REST]).required == (
        "meta_app_secret",
        "meta_verify_token",
        "x_consumer_secret",
    )


def stubbed_secret(describe: dict[str, Any] | str, value: dict[str, Any] | str | None = None) -> Any:
    """A real Secrets Manager client answering DescribeSecret (a dict, or an error code) and, when
    `value` is given, GetSecretValue (a dict's JSON, a raw string, or an error code in `!CODE`)."""
    secrets = client("secretsmanager")
    stub = Stubber(secrets)
    name = "socialomega/test/instagram"
    if isinstance(describe, str):
        stub.add_client_error("describe_secret", describe)
    else:
        stub.add_response(
            "describe_secret", {"ARN": f"arn:aws:secretsmanager:eu-west-1:1:secret:{name}", "Name": name, **describe}
        )
    if isinstance(value, str) and value.startswith("!"):
        stub.add_client_error("get_secret_value", value[1:])
    elif value is not None:
        stub.add_response(
            "get_secret_value", {"Name": name, "SecretString": value if isinstance(value, str) else json.dumps(value)}
        )
    stub.activate()
    return secrets


NAME = "socialomega/test/instagram"
PUT = f"""aws secretsmanager put-secret-value --secret-id {NAME} --secret-string '{{"access_token": "..."}}'"""
TOKEN = preflight.SecretKeys(("access_token",))


def test_a_missing_secret_fails_saying_how_to_create_it() -> None:
    assert preflight.check_secret(stubbed_secret("ResourceNotFoundException"), NAME, TOKEN) == Check(
        f"secret {NAME}",
        "fail",
        "does not exist",
        f"""aws secretsmanager create-secret --name {NAME} --secret-string '{{"access_token": "..."}}' """
        "(the deploy adopts a secret created so)",
    )


def test_a_secret_missing_a_key_names_the_key_never_a_value() -> None:
    check = preflight.check_secret(stubbed_secret({}, {"access_tokn": "very-secret"}), NAME, TOKEN)
    assert check == Check(f"secret {NAME}", "fail", "lacks access_token", PUT)
    assert "very-secret" not in repr(check)


def test_a_secret_without_a_value_being_deleted_or_not_json_fails() -> None:
    assert preflight.check_secret(stubbed_secret({}, "!ResourceNotFoundException"), NAME, TOKEN) == Check(
        f"secret {NAME}", "fail", "has no value", PUT
    )
    assert preflight.check_secret(stubbed_secret({}, "not json"), NAME, TOKEN) == Check(
        f"secret {NAME}", "fail", "is not a JSON object", PUT
    )
    deleted = stubbed_secret({"DeletedDate": "2026-01-01T00:00:00Z"})
    assert preflight.check_secret(deleted, NAME, TOKEN) == Check(
        f"secret {NAME}",
        "fail",
        "is scheduled for deletion: the deploy cannot create or use it",
        f"aws secretsmanager restore-secret --secret-id {NAME}",
    )


def test_a_complete_secret_passes_and_an_optional_one_only_warns() -> None:
    assert preflight.check_secret(stubbed_secret({}, {"access_token": "t"}), NAME, TOKEN) == Check(
        f"secret {NAME}", "ok", "has access_token"
    )
    check = preflight.check_secret(stubbed_secret("ResourceNotFoundException"), NAME, TOKEN, required=False)
    assert check.status == "warn" and check.ok
    assert (check.detail, check.fix) == ("does not exist yet: the deploy creates it empty", f"after the deploy: {PUT}")


class Secrets:
    """Secrets Manager holding `values` (name -> JSON object); any other secret does not exist."""

    def __init__(self, values: dict[str, dict[str, Any]]) -> None:
        self.values = values

    def _find(self, operation: str, name: str) -> dict[str, Any]:
        if name not in self.values:
            error = {"Error": {"Code": "ResourceNotFoundException", "Message": "not found"}}
            raise ClientError(error, operation)  # type: ignore[arg-type]
        return self.values[name]

    def describe_secret(self, SecretId: str) -> dict[str, Any]:  # noqa: N803 - boto3's name
        self._find("DescribeSecret", SecretId)
        return {"Name": SecretId}

    def get_secret_value(self, SecretId: str) -> dict[str, Any]:  # noqa: N803 - boto3's name
        return {"SecretString": json.dumps(self._find("GetSecretValue", SecretId))}


def test_a_missing_optional_secret_says_what_its_absence_stops() -> None:
    disabled = {**INSTAGRAM, "enabled": False}
    lightroom = {"client_id": "c", "access_token": "a"}
    checks = preflight.check_secrets(
        Secrets({"socialomega/test/lightroom": lightroom}), needs(targets=[disabled, REST])
    )
    by_name = {c.name: c for c in checks}
    assert [c.status for c in checks] == ["ok", "warn", "fail", "warn"]
    assert by_name["secret socialomega/test/instagram"].detail == (
        "does not exist yet: the deploy creates it empty; target instagram is disabled: it needs these keys "
        "before it is enabled"
    )
    assert by_name["secret socialomega/test/webhooks"].detail == (
        "does not exist yet: the deploy creates it empty; the webhook endpoint answers 404 to every platform "
        "until it holds the keys"
    )


# --- what a configuration needs, and the run -----------------------------------------------------


def test_the_reserved_concurrency_is_read_from_the_root() -> None:
    assert preflight.reserved_concurrency_in(preflight.ROOT) == {"poller": 1}


def test_needs_have_one_publisher_queue_per_target() -> None:
    found = Needs.from_variables(
        {
            "env": "e",
            "targets": [INSTAGRAM, REST],
            "memory_sizes": {"poller": 512},
            "function_timeouts": {"publisher": 60},
            "consumer_concurrency": {"processor": 5, "analytics": 2, "publisher": 3},
            "architecture": "arm64",
        },
        {"poller": 1},
    )
    assert found.queue_concurrency == {
        "processor": 5,
        "analytics": 2,
        "publisher-instagram": 3,
        "publisher-portfolio": 3,
    }
    assert (found.publisher_timeout, found.architecture, found.secret_name("x")) == (60.0, "arm64", "socialomega/e/x")


terraform = pytest.mark.skipif(shutil.which("terraform") is None, reason="needs terraform")


@terraform
def test_read_needs_takes_the_defaults_from_terraform() -> None:
    found = preflight.read_needs(EXAMPLE)
    assert found.reserved_concurrency == {"poller": 1}
    assert found.queue_concurrency["processor"] == 5 and found.queue_concurrency["analytics"] == 2
    assert len(found.queue_concurrency) == 2 + len(found.targets)
    assert found.architecture in ("x86_64", "arm64")


@terraform
def test_invalid_tfvars_fail_with_terraforms_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tfvars"
    lines = [line for line in EXAMPLE.read_text().splitlines() if not line.startswith("architecture")]
    bad.write_text("\n".join([*lines, 'architecture = "sparc"']))
    with pytest.raises(ValueError, match=r"^Invalid value for variable: architecture is x86_64 or arm64\.$"):
        preflight.read_needs(bad)


class Clients:
    """A client factory that records which services were asked for."""

    def __init__(self, **clients: Any) -> None:
        self.clients, self.asked = clients, []  # type: ignore[var-annotated]

    def __call__(self, service: str) -> Any:
        self.asked.append(service)
        return self.clients[service]


def test_without_a_region_only_the_local_checks_run() -> None:
    clients = Clients()
    checks = preflight.run_preflight(needs(), None, clients)
    assert [c.name for c in checks] == ["region", "targets", "lambda memory"]
    assert clients.asked == []
    assert [c.name for c in preflight.failures(checks)] == ["region"]


def test_without_credentials_nothing_else_is_asked() -> None:
    class NoCredentials:
        def get_caller_identity(self) -> None:
            raise NoCredentialsError()

    clients = Clients(sts=NoCredentials())
    checks = preflight.run_preflight(needs(), "eu-west-1", clients)
    assert [c.name for c in checks][-1] == "credentials" and clients.asked == ["sts"]


def test_main_prints_json_and_exits_1_on_a_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert preflight.main(["--tfvars", str(tmp_path / "missing.tfvars"), "--json"]) == 1
    [check] = json.loads(capsys.readouterr().out)
    assert (check["name"], check["status"], check["ok"]) == ("tfvars", "fail", False)
    assert "does not exist" in check["detail"]


def test_the_lightroom_secrets_fix_marks_the_rotation_keys_optional() -> None:
    check = preflight.check_secret(
        stubbed_secret("ResourceNotFoundException"), "socialomega/test/lightroom", preflight.LIGHTROOM_KEYS
    )
    assert check.fix == (
        "aws secretsmanager create-secret --name socialomega/test/lightroom --secret-string "
        """'{"client_id": "...", "access_token": "...", "client_secret": "...", "refresh_token": "..."}' """
        "(client_secret, refresh_token optional; the deploy adopts a secret created so)"
    )
