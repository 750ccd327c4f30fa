"""Preflight: can this configuration be deployed to (or is it running well in) this account?

`make preflight` runs it, `terraform/bin/deploy` runs it first, before anything is created, and
the operator CLI's `socialomega doctor` reuses the same checks. Each check says what it found
and, when that cannot work, what to do. Nothing here creates or changes anything in the
account, and no secret's value is ever printed (only its key names).

Public API (the CLI's `doctor` calls these):

    @dataclass(frozen=True)
    class Check:
        name: str            # e.g. "region", "lambda reserved concurrency", "secret socialomega/prod/x"
        status: Literal["ok", "warn", "fail"]
        detail: str          # what was found
        fix: str = ""        # what to do ("" when ok)
        ok: bool             # property: status != "fail"
        def as_dict(self) -> dict[str, Any]

    @dataclass(frozen=True)
    class Needs:             # what a configuration needs from the account
        env: str
        targets: list[dict[str, Any]]
        memory_sizes: dict[str, int]          # function -> MB
        reserved_concurrency: dict[str, int]  # function -> reserved concurrency
        queue_concurrency: dict[str, int]     # SQS consumer -> event source maximum_concurrency
        publisher_timeout: float
        architecture: str                     # x86_64 or arm64
        @classmethod
        def from_variables(cls, variables: dict[str, Any], reserved: dict[str, int]) -> Needs

    def read_needs(tfvars: Path, root: Path = ROOT, pipeline: Path = PIPELINE) -> Needs
        # the root's variables with `tfvars` applied, validated by Terraform (ValueError if not)
    def check_region(region: str | None) -> Check
    def check_credentials(sts: Any) -> tuple[Check, str | None]  # (check, account id)
    def check_targets(needs: Needs) -> Check                     # platforms/check.py and fit.py
    def check_memory(needs: Needs) -> Check
    def check_concurrency(settings: dict[str, Any], needs: Needs, reserved_now: int = 0) -> list[Check]
    def check_apigateway_role(account: dict[str, Any] | None, managed: bool = False) -> Check
    def check_secret(secretsmanager: Any, name: str, keys: SecretKeys, required: bool = True,
                     consequence: str = "") -> Check  # consequence: what a missing optional one stops
    def check_secrets(secretsmanager: Any, needs: Needs) -> list[Check]
    def run_preflight(needs: Needs, region: str | None, client: Callable[[str], Any] = aws.client,
                      manage_apigw_account: bool = False) -> list[Check]
    def failures(checks: Iterable[Check]) -> list[Check]
    def resolve_region(given: str | None = None) -> str | None    # core/aws.region, exported for boto3
    def render(checks: list[Check], what: str = "preflight") -> str  # the readable list (doctor's too)

CLI: `python -m socialomega.ops.preflight --tfvars FILE [--root DIR] [--region R] [--json]
[--manage-apigw-account] [--needs-only] [--needs-file FILE]`: a readable list (or JSON, a list
of {name, status, ok, detail, fix}); exit status 1 when any check failed. `--needs-only` prints
what the tfvars need (JSON) and asks AWS nothing; terraform/bin/deploy reads `env` and
`architecture` from `--needs-file`.

Facts the checks rest on:
- Lambda keeps part of the account's concurrency unreserved: "You can reserve up to the
  Unreserved account concurrency value minus 100" (docs.aws.amazon.com/lambda/latest/dg/
  configuration-concurrency.html). Accounts with a lower quota get the whole quota as the
  minimum: Lambda answers "decreases account's UnreservedConcurrentExecution below its minimum
  value of [10]" (or [50]) there (aws-samples/one-observability-demo#278,
  awslabs/fhir-works-on-aws-deployment#691), so a new account with 10 can reserve nothing
  (the poller reserves 1). Hence the minimum is min(100, quota) (inferred from those messages;
  UNCONFIRMED for quotas between 10 and 100).
- An SQS event source whose function is throttled returns the messages to the queue, each
  delivery counting as a receive, so too little concurrency for the mappings'
  maximum_concurrency can move work to the DLQs (UNCONFIRMED as AWS's wording; it is why AWS
  advises a maxReceiveCount of at least 5). So the mappings' maxima must fit what is left
  unreserved.
- Memory: UNCONFIRMED and not visible through any API: new accounts have been refused memory
  above 3008 MB ("'MemorySize' value failed to satisfy constraint: Member must have value less
  than or equal to 3008"; AWS support on repost.aws: "Lambda functions with memory
  configuration greater than 3GB are currently unavailable for first time use in some
  regions", lifted by a support case; alexcasalboni/aws-lambda-power-tuning#181,
  aws-samples/serverless-rag-demo#124). A larger memory_size is therefore a warning.
- API Gateway's CloudWatch Logs role is a per-account, per-region setting; without it the
  webhook stage (access logging) fails with "CloudWatch Logs role ARN must be set in account
  settings to enable logging" (terraform/envs/aws-account sets it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from socialomega import platforms
from socialomega.core import aws, oauth
from socialomega.platforms import check as targets_check
from socialomega.platforms import fit

Status = Literal["ok", "warn", "fail"]

REPO = Path(__file__).resolve().parents[3]
ROOT = REPO / "terraform" / "envs" / "aws"
PIPELINE = REPO / "terraform" / "modules" / "pipeline"
# Service Quotas code of Lambda's "Concurrent executions".
CONCURRENCY_QUOTA_CODE = "L-B99A9384"
RESERVE_HEADROOM = 100  # "reserve up to the unreserved account concurrency minus 100"
MEMORY_CAP_NEW_ACCOUNTS_MB = 3008  # UNCONFIRMED, see the module docstring
TERRAFORM_SECONDS = 120.0  # one `terraform console` (no init, no providers: seconds)


@dataclass(frozen=True)
class Check:
    """One preflight finding: ok, a warning (works, but look at it) or a failure (stops a deploy)."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "fail"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def _ok(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def _warn(name: str, detail: str, fix: str) -> Check:
    return Check(name, "warn", detail, fix)


def _fail(name: str, detail: str, fix: str) -> Check:
    return Check(name, "fail", detail, fix)


def failures(checks: Iterable[Check]) -> list[Check]:
    return [c for c in checks if not c.ok]


# --- what the configuration needs -------------------------------------------------------------


@dataclass(frozen=True)
class Needs:
    """What one configuration of terraform/envs/aws needs from the account."""

    env: str
    targets: list[dict[str, Any]]
    memory_sizes: dict[str, int]
    reserved_concurrency: dict[str, int] = field(default_factory=dict)
    queue_concurrency: dict[str, int] = field(default_factory=dict)
    publisher_timeout: float = 90.0
    architecture: str = "x86_64"  # the functions' instruction set (the images are built for it)

    @classmethod
    def from_variables(cls, variables: dict[str, Any], reserved: dict[str, int]) -> Needs:
        """`variables`: envs/aws's variables with defaults applied (`read_needs`), plus
        `consumer_concurrency`: the pipeline's maximum_concurrency per consumer kind."""
        targets = variables.get("targets") or []
        per_kind = variables.get("consumer_concurrency") or {}
        queues = {k: int(per_kind[k]) for k in ("processor", "analytics") if k in per_kind}
        # One publisher function (and event source mapping) per target (modules/pipeline outputs.tf).
        for entry in targets if isinstance(targets, list) else []:
            if isinstance(entry, dict) and "name" in entry:
                queues[f"publisher-{entry['name']}"] = int(per_kind.get("publisher", 2))
        return cls(
            env=str(variables.get("env") or "prod"),
            targets=targets if isinstance(targets, list) else [],
            memory_sizes={str(k): int(v) for k, v in (variables.get("memory_sizes") or {}).items()},
            reserved_concurrency=dict(reserved),
            queue_concurrency=queues,
            publisher_timeout=float((variables.get("function_timeouts") or {}).get("publisher", 90)),
            architecture=str(variables.get("architecture") or "x86_64"),
        )

    def secret_name(self, name: str) -> str:
        return f"socialomega/{self.env}/{name}"


def reserved_concurrency_in(root: Path) -> dict[str, int]:
    """`reserved_concurrency = N` of each module call in the root's .tf files (the poller's 1):
    read from the configuration, since Terraform knows the value only after an apply."""
    found: dict[str, int] = {}
    for path in sorted(root.glob("*.tf")):
        for block in re.finditer(r'^module\s+"([^"]+)"\s*\{(.*?)^\}', path.read_text(), re.S | re.M):
            value = re.search(r"^\s*reserved_concurrency\s*=\s*(\d+)\s*$", block.group(2), re.M)
            if value and int(value.group(1)) > 0:
                found[block.group(1)] = int(value.group(1))
    return found


def _terraform_error(output: str) -> str:
    """Terraform's error, on one line: its summary and message without the source excerpt."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", output)
    if "Error: " not in text:
        return " ".join(text.split())
    kept = []
    for line in text.split("Error: ", 1)[1].splitlines():
        bare = line.strip().lstrip("│╷╵├─ ").strip()
        if bare and not re.match(r"^(on |This was checked|var\.|\d+: )", bare):
            kept.append(bare)
    return f"{kept[0]}: {' '.join(kept[1:])}" if len(kept) > 1 else " ".join(kept)


def _console(variables_tf: Path, expression: str, args: list[str], validate: bool = True) -> Any:
    """`expression` over one variables.tf alone, after a plan of it when `validate` (which checks
    the variables' validations, which `console` does not): no init, no backend, no providers, no
    credentials."""
    with tempfile.TemporaryDirectory(prefix="so-preflight-") as scratch:
        (Path(scratch) / "variables.tf").write_text(variables_tf.read_text())
        env = {k: v for k, v in os.environ.items() if k != "TF_DATA_DIR"}
        env["TF_DATA_DIR"] = str(Path(scratch) / ".terraform")
        plan = ["plan", "-input=false", "-no-color", "-lock=false", "-refresh=false", *args]
        for command, given in ([(plan, "")] if validate else []) + [(["console", *args], expression)]:
            try:
                done = subprocess.run(
                    ["terraform", f"-chdir={scratch}", *command],
                    input=given,
                    capture_output=True,
                    text=True,
                    timeout=TERRAFORM_SECONDS,
                    env=env,
                    check=False,
                )
            except FileNotFoundError:
                raise ValueError(
                    "terraform is not installed (https://developer.hashicorp.com/terraform/install)"
                ) from None
            except subprocess.TimeoutExpired:
                raise ValueError(f"terraform {command[0]} did not answer within {TERRAFORM_SECONDS:.0f} s") from None
            if done.returncode != 0:
                raise ValueError(_terraform_error(done.stderr or done.stdout))
    # console prints jsonencode()'s result as a quoted HCL string: decode it twice.
    return json.loads(json.loads(done.stdout.strip().splitlines()[-1]))


def read_needs(tfvars: Path, root: Path = ROOT, pipeline: Path = PIPELINE) -> Needs:
    """The needs of `root` with `tfvars` applied, as Terraform reads them (defaults and variable
    validations included); ValueError with Terraform's message when the tfvars are not valid."""
    placeholder = 'image_uris={poller="p",processor="p",publisher="p",analytics="p"}'
    variables = _console(
        root / "variables.tf",
        "jsonencode({env = var.env, targets = var.targets, memory_sizes = var.memory_sizes, "
        "function_timeouts = var.function_timeouts, publisher_max_concurrency = var.publisher_max_concurrency, "
        "architecture = var.architecture})",
        [f"-var-file={tfvars.resolve()}", "-var", placeholder],
    )
    # envs/aws/main.tf hands publisher_max_concurrency to the pipeline, which defaults the rest.
    variables["consumer_concurrency"] = _console(
        pipeline / "variables.tf",
        "jsonencode(var.maximum_concurrency)",
        ["-var", f"maximum_concurrency={{publisher={int(variables['publisher_max_concurrency'])}}}"],
        validate=False,  # the module's other inputs are not set here; envs/aws validated this one
    )
    return Needs.from_variables(variables, reserved_concurrency_in(root))


# --- the checks -------------------------------------------------------------------------------


def check_region(region: str | None) -> Check:
    if not region:
        return _fail(
            "region",
            "no AWS region: neither AWS_REGION, AWS_DEFAULT_REGION nor the profile names one",
            "export AWS_REGION=<region> (e.g. eu-west-1), or: aws configure set region <region>",
        )
    return _ok("region", region)


def check_credentials(sts: Any) -> tuple[Check, str | None]:
    """(the check, the account id) from sts GetCallerIdentity."""
    fix = (
        "set AWS_PROFILE (aws configure sso, then aws sso login --profile <name>) "
        "or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; aws sts get-caller-identity must answer"
    )
    try:
        who = sts.get_caller_identity()
    except NoCredentialsError:
        return _fail("credentials", "no AWS credentials found", fix), None
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        return _fail("credentials", f"AWS refused the credentials ({code})", fix), None
    except BotoCoreError as exc:
        return _fail("credentials", f"could not ask AWS who this is: {exc}", fix), None
    return _ok("credentials", f"account {who['Account']} as {who['Arn']}"), str(who["Account"])


def check_targets(needs: Needs) -> Check:
    """The targets against the services' own settings models (what terraform/bin/check-targets
    runs: platforms/check.py), and each one's longest call against its publisher's timeout."""
    found = targets_check.problems(needs.targets) or fit.unfit_targets(needs.targets, needs.publisher_timeout)
    if found:
        return _fail(
            "targets",
            "; ".join(found),
            "fix the targets in the tfvars (README, Configuration lists every platform's settings)",
        )
    names = ", ".join(f"{t['name']} ({t['platform']})" for t in needs.targets)
    return _ok("targets", f"{len(needs.targets)} valid: {names}" if needs.targets else "none configured")


def check_memory(needs: Needs) -> Check:
    if not needs.memory_sizes:
        return _ok("lambda memory", "no memory_sizes")
    function, largest = max(needs.memory_sizes.items(), key=lambda item: item[1])
    if largest > MEMORY_CAP_NEW_ACCOUNTS_MB:
        return _warn(
            "lambda memory",
            f"memory_sizes.{function} = {largest} MB: new accounts have been refused more than "
            f"{MEMORY_CAP_NEW_ACCOUNTS_MB} MB (UNCONFIRMED; no API shows this account's cap)",
            f'if the deploy fails with "Member must have value less than or equal to {MEMORY_CAP_NEW_ACCOUNTS_MB}", '
            f"set memory_sizes.{function} <= {MEMORY_CAP_NEW_ACCOUNTS_MB} or ask AWS Support to lift the cap",
        )
    return _ok("lambda memory", f"largest memory_size {largest} MB ({function})")


def _quota_fix(needed: int) -> str:
    return (
        f"ask for a 'Concurrent executions' quota of at least {needed} (1000 is the usual default): "
        f"aws service-quotas request-service-quota-increase --service-code lambda "
        f"--quota-code {CONCURRENCY_QUOTA_CODE} --desired-value {max(needed, 1000)}"
    )


def check_concurrency(settings: dict[str, Any], needs: Needs, reserved_now: int = 0) -> list[Check]:
    """`settings`: lambda GetAccountSettings' answer. `reserved_now`: what this configuration's
    functions already reserve (a redeploy; already subtracted from the unreserved pool)."""
    limits = settings.get("AccountLimit") or {}
    quota = int(limits.get("ConcurrentExecutions", 0))
    unreserved = int(limits.get("UnreservedConcurrentExecutions", quota)) + reserved_now
    minimum = min(RESERVE_HEADROOM, quota)
    reserved = sum(needs.reserved_concurrency.values())
    queues = sum(needs.queue_concurrency.values())
    shown_reserved = ", ".join(f"{k} {v}" for k, v in needs.reserved_concurrency.items()) or "none"
    found = f"account quota {quota}, unreserved {unreserved}"
    checks: list[Check] = []
    if reserved > unreserved - minimum:
        checks.append(
            _fail(
                "lambda reserved concurrency",
                f"the functions reserve {reserved} ({shown_reserved}) but Lambda keeps at least {minimum} of "
                f"the account's concurrency unreserved ({found}): the deploy would fail with "
                f'"decreases account\'s UnreservedConcurrentExecution below its minimum value"',
                _quota_fix(reserved + RESERVE_HEADROOM + queues),
            )
        )
    else:
        checks.append(_ok("lambda reserved concurrency", f"reserves {reserved} ({shown_reserved}); {found}"))
    left = unreserved - reserved
    shown_queues = f"{queues} ({len(needs.queue_concurrency)} SQS event sources' maximum_concurrency)"
    if queues > left:
        checks.append(
            _fail(
                "lambda concurrency for the queues",
                f"the queue consumers may run {shown_queues} at once, but only {left} concurrency would be "
                f"left unreserved ({found}): throttled deliveries count as receives and end in the DLQs",
                _quota_fix(reserved + RESERVE_HEADROOM + queues)
                + "; or lower publisher_max_concurrency (2 at least) or the number of targets",
            )
        )
    else:
        checks.append(_ok("lambda concurrency for the queues", f"{shown_queues} of {left} unreserved"))
    return checks


def check_apigateway_role(account: dict[str, Any] | None, managed: bool = False) -> Check:
    """`account`: apigateway GetAccount's answer. `managed`: the deploy applies
    terraform/envs/aws-account first (MANAGE_APIGW_ACCOUNT=1), which sets the role."""
    role = (account or {}).get("cloudwatchRoleArn")
    if role:
        return _ok("api gateway cloudwatch role", role)
    if managed:
        return _ok("api gateway cloudwatch role", "not set yet; terraform/envs/aws-account sets it first")
    return _fail(
        "api gateway cloudwatch role",
        "API Gateway has no CloudWatch Logs role in this account and region: creating the webhook stage "
        'would fail ("CloudWatch Logs role ARN must be set in account settings") after ~100 resources',
        "make account-setup (terraform/envs/aws-account: once per account and region; it changes an "
        "account-wide setting), or MANAGE_APIGW_ACCOUNT=1 make deploy; if another stack manages it, "
        "ask its owner to set it",
    )


# --- secrets ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SecretKeys:
    """The keys a secret must hold (`required`), and those only some configurations need
    (`optional`, shown in the fix)."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    # Keys that, when present, bring more required keys (Lightroom's refresh_token: the rotation).
    when: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def missing(self, value: dict[str, Any]) -> list[str]:
        needed = list(self.required)
        for key, more in self.when:
            if _present(value, key):
                needed += [k for k in more if k not in needed]
        return [k for k in needed if not _present(value, k)]


def _present(value: dict[str, Any], key: str) -> bool:
    item = value.get(key)
    return isinstance(item, str) and bool(item.strip())


def target_secret_keys(target: dict[str, Any]) -> SecretKeys:
    """The keys a target's secret needs (the target must be valid: `check_targets`), as its
    platform declares them once: `SECRET_KEYS` in platforms/<p>/settings.py, a tuple or a
    function of its settings, which its publisher and the token keeper read too."""
    platform = platforms.get(str(target["platform"]))
    settings = platform.settings(target)
    declared = platform.module("settings").SECRET_KEYS
    return SecretKeys(tuple(declared(settings) if callable(declared) else declared))


# poller/bootstrap.py lightroom_client: client_id and an access token; with a refresh_token the
# IMS token is renewed through core/oauth.RotatingToken, which needs all of oauth.REQUIRED_KEYS.
LIGHTROOM_KEYS = SecretKeys(
    ("client_id", "access_token"),
    optional=("client_secret", "refresh_token"),
    when=(("refresh_token", oauth.REQUIRED_KEYS),),
)


def webhook_secret_keys(targets: list[dict[str, Any]]) -> SecretKeys:
    """The webhook endpoint's keys for the configured platforms that send webhooks: each
    platform's webhook module names its own (`SECRET_KEY`, Meta's `VERIFY_TOKEN_KEY` too)."""
    keys: list[str] = []
    for name in dict.fromkeys(str(t.get("platform")) for t in targets):
        platform = platforms.PLATFORMS.get(name)
        if platform is None or not platform.webhooks:
            continue
        module = platform.webhook()
        # Meta's subscription check also needs its verify token, named where answer_challenge lives.
        home = sys.modules.get(getattr(module.answer_challenge, "__module__", ""), module)
        for key in (module.SECRET_KEY, getattr(module, "VERIFY_TOKEN_KEY", getattr(home, "VERIFY_TOKEN_KEY", None))):
            if key and key not in keys:
                keys.append(key)
    return SecretKeys(tuple(keys))


def _secret_fix(name: str, keys: SecretKeys) -> str:
    template = json.dumps({k: "..." for k in (*keys.required, *keys.optional)})
    return f"aws secretsmanager put-secret-value --secret-id {name} --secret-string '{template}'" + (
        f" ({', '.join(keys.optional)} optional)" if keys.optional else ""
    )


def check_secret(
    secretsmanager: Any, name: str, keys: SecretKeys, required: bool = True, consequence: str = ""
) -> Check:
    """One secret: present, not being deleted, a JSON object with every key `keys` names. A
    `required=False` secret (the webhooks' keys, a disabled target's) only warns; `consequence`
    says what its absence stops until it holds the keys (the caller knows, this does not)."""
    label = f"secret {name}"
    problem = _fail if required else _warn
    template = json.dumps({k: "..." for k in (*keys.required, *keys.optional)})
    try:
        described = secretsmanager.describe_secret(SecretId=name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            return problem(
                label, f"cannot read it: {exc}", "the deploying identity needs secretsmanager:DescribeSecret"
            )
        if not required:
            return _warn(
                label,
                "does not exist yet: the deploy creates it empty" + (f"; {consequence}" if consequence else ""),
                f"after the deploy: {_secret_fix(name, keys)}",
            )
        return _fail(
            label,
            "does not exist",
            f"aws secretsmanager create-secret --name {name} --secret-string '{template}' "
            + (f"({', '.join(keys.optional)} optional; " if keys.optional else "(")
            + "the deploy adopts a secret created so)",
        )
    if described.get("DeletedDate"):
        return problem(
            label,
            "is scheduled for deletion: the deploy cannot create or use it",
            f"aws secretsmanager restore-secret --secret-id {name}",
        )
    try:
        value = secretsmanager.get_secret_value(SecretId=name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return problem(label, "has no value", _secret_fix(name, keys))
        return problem(
            label, f"cannot read its value: {exc}", "the deploying identity needs secretsmanager:GetSecretValue"
        )
    try:
        parsed = json.loads(value.get("SecretString") or "")
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        return problem(label, "is not a JSON object", _secret_fix(name, keys))
    missing = keys.missing(parsed)
    if missing:
        return problem(label, f"lacks {', '.join(missing)}", _secret_fix(name, keys))
    return _ok(label, f"has {', '.join(sorted(k for k in parsed if _present(parsed, k))) or 'no keys (none needed)'}")


def check_secrets(secretsmanager: Any, needs: Needs) -> list[Check]:
    """The poller's Lightroom secret, every target's secret (a disabled target's only warns),
    and the webhook endpoint's keys (warns: engagement webhooks are optional)."""
    checks = [check_secret(secretsmanager, needs.secret_name("lightroom"), LIGHTROOM_KEYS)]
    for target in needs.targets:
        enabled = target.get("enabled", True) is not False
        checks.append(
            check_secret(
                secretsmanager,
                needs.secret_name(str(target["name"])),
                target_secret_keys(target),
                required=enabled,
                consequence=""
                if enabled
                else f"target {target['name']} is disabled: it needs these keys before it is enabled",
            )
        )
    webhooks = webhook_secret_keys(needs.targets)
    if webhooks.required:
        checks.append(
            check_secret(
                secretsmanager,
                needs.secret_name("webhooks"),
                webhooks,
                required=False,
                consequence="the webhook endpoint answers 404 to every platform until it holds the keys",
            )
        )
    return checks


# --- all of them --------------------------------------------------------------------------------


def _reserved_now(lambda_client: Any, needs: Needs) -> int:
    """What this configuration's functions reserve already (a redeploy), 0 for a new one."""
    total = 0
    for module in needs.reserved_concurrency:
        try:
            answer = lambda_client.get_function_concurrency(FunctionName=f"socialomega-{needs.env}-{module}")
        except ClientError:
            continue
        total += int(answer.get("ReservedConcurrentExecutions") or 0)
    return total


def run_preflight(
    needs: Needs,
    region: str | None,
    client: Callable[[str], Any] = aws.client,
    manage_apigw_account: bool = False,
) -> list[Check]:
    """Every check, in order: the local ones (region, targets, memory), then credentials and,
    once AWS answers, the account's (Lambda concurrency, API Gateway's role, secrets)."""
    checks = [check_region(region), check_targets(needs), check_memory(needs)]
    if not region:
        return checks
    credentials, account = check_credentials(client("sts"))
    checks.append(credentials)
    if account is None:
        return checks
    try:
        lambda_client = client("lambda")
        checks += check_concurrency(lambda_client.get_account_settings(), needs, _reserved_now(lambda_client, needs))
    except (ClientError, BotoCoreError) as exc:
        checks.append(
            _fail("lambda concurrency", f"cannot read the account's settings: {exc}", "needs lambda:GetAccountSettings")
        )
    try:
        checks.append(check_apigateway_role(client("apigateway").get_account(), managed=manage_apigw_account))
    except (ClientError, BotoCoreError) as exc:
        checks.append(
            _fail(
                "api gateway cloudwatch role",
                f"cannot read API Gateway's account settings: {exc}",
                "needs apigateway:GET on /account",
            )
        )
    if check_targets(needs).ok:  # the secrets' keys follow from valid targets only
        checks += check_secrets(client("secretsmanager"), needs)
    return checks


def resolve_region(given: str | None = None) -> str | None:
    """The region as `core/aws.region` reads it, exported as AWS_DEFAULT_REGION: what boto3's
    clients read (AWS_REGION they do not)."""
    region = aws.region(given)
    if region:
        os.environ["AWS_DEFAULT_REGION"] = region
    return region


def render(checks: list[Check], what: str = "preflight") -> str:
    """The one readable form of a check list (the preflight's and `socialomega doctor`'s): a line
    per check, its fix whole on the next (never cut: it is a command to copy), then the verdict.
    terraform/tests/deploy/run reads these lines."""
    mark = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}
    lines = []
    for c in checks:
        lines.append(f"{mark[c.status]} {c.name}: {c.detail}")
        if c.fix:
            lines.append(f"     -> {c.fix}")
    bad = failures(checks)
    lines.append(f"{what}: {len(bad)} failed" if bad else f"{what}: ok")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m socialomega.ops.preflight", description=__doc__.split("\n")[0])
    parser.add_argument("--tfvars", type=Path, required=True, help="the variables of terraform/envs/aws")
    parser.add_argument("--root", type=Path, default=ROOT, help="the Terraform root (default terraform/envs/aws)")
    parser.add_argument("--region", help="default: AWS_REGION, AWS_DEFAULT_REGION, the profile's")
    parser.add_argument("--json", action="store_true", help="a JSON list instead of text")
    parser.add_argument(
        "--manage-apigw-account",
        action="store_true",
        help="the deploy sets API Gateway's role (MANAGE_APIGW_ACCOUNT=1)",
    )
    parser.add_argument("--needs-only", action="store_true", help="print what the tfvars need; ask AWS nothing")
    parser.add_argument("--needs-file", type=Path, help="also write what the tfvars need there (JSON)")
    args = parser.parse_args(argv)
    try:
        needs = read_needs(args.tfvars, args.root)
    except (OSError, ValueError) as exc:
        check = _fail(
            "tfvars", f"{args.tfvars}: {exc}", "fix the tfvars (terraform.tfvars.example shows every variable)"
        )
        print(json.dumps([check.as_dict()], indent=2) if args.json else render([check]))
        return 1
    shown = json.dumps(asdict(needs) | {"max_memory_mb": max(needs.memory_sizes.values(), default=0)}, indent=2)
    if args.needs_file:
        args.needs_file.write_text(shown + "\n")
    if args.needs_only:
        print(shown)
        return 0
    checks = run_preflight(needs, resolve_region(args.region), manage_apigw_account=args.manage_apigw_account)
    print(json.dumps([c.as_dict() for c in checks], indent=2) if args.json else render(checks))
    return 1 if failures(checks) else 0


if __name__ == "__main__":
    sys.exit(main())
