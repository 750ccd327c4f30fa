"""`socialomega doctor`: the preflight's checks (ops/preflight.py) against a RUNNING environment,
plus what only a running one shows: its queues, DLQs, breakers, parked photos and whether the
alarm topic reaches anybody.

What the deploy-time preflight reads from the tfvars, this reads from the environment itself:
the targets from SSM, each function's memory and reserved concurrency from Lambda (aws root:
the manifest names the functions), each queue consumer's maximum concurrency from the manifest.
Every finding is a `preflight.Check` (ok / warn / fail, with the fix); a failure makes the
command exit 1. A DLQ with messages, an open breaker or a parked photo is a warning: the
pipeline runs, a person has something to look at (`socialomega dlq show`, `status --failed`,
`parked`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from socialomega.cli import dead_letters
from socialomega.core import aws
from socialomega.core import store as keys
from socialomega.core.config import ConfigError
from socialomega.core.deadline import DeadlineReached, current
from socialomega.ops import preflight
from socialomega.ops.environment import Environment, manifest_parameter
from socialomega.ops.preflight import Check
from socialomega.poller import parking

AWS_ERRORS = (ClientError, BotoCoreError)


def doctor(env: Environment) -> list[Check]:
    """Every check, in order; one that cannot run is itself a finding, never an exception. Once
    the bound deadline (core/deadline.current: the command's --timeout) has passed no further
    check starts: the last finding says what was left unchecked."""
    checks: list[Check] = []
    try:
        _run(env, checks)
    except DeadlineReached as exc:
        checks.append(
            Check(
                "timeout",
                "fail",
                f"stopped before {exc.what}: the command's deadline had passed",
                f"run it again with a longer one: socialomega --env {env.name} --timeout SECONDS doctor",
            )
        )
    return checks


def _run(env: Environment, checks: list[Check]) -> None:
    """Appends each finding as it is made (so a deadline keeps those made before it)."""
    checks.append(preflight.check_region(aws.region(env.where.region, env.where.profile)))
    credentials, account = preflight.check_credentials(env.client("sts"))
    checks.append(credentials)
    if account is None:
        return
    m = env.manifest
    checks.append(Check("manifest", "ok", f"{manifest_parameter(env.name)}: {len(m.consumers)} consumer(s)"))
    raw_targets, problem = _raw_targets(env)
    if problem is not None:
        checks.append(problem)
    needs = _needs(env, raw_targets)
    targets = preflight.check_targets(needs)
    checks.append(targets)
    if not env.local:
        _account_checks(env, needs, checks)
    if targets.ok and raw_targets:  # the secrets' keys follow from valid targets only
        checks += _guarded("secrets", lambda: preflight.check_secrets(env.client("secretsmanager"), needs))
    checks += _guarded("queues", lambda: queue_checks(env))
    checks += _guarded("breakers", lambda: breaker_checks(env))
    checks += _guarded("parked photos", lambda: [parked_check(env)])
    if not env.local:
        checks += _guarded("alarm topic", lambda: [alarm_topic_check(env)])


def _guarded(name: str, run: Callable[[], list[Check]]) -> list[Check]:
    deadline = current()
    if deadline.expired():
        raise DeadlineReached(f"checking the {name}", deadline.remaining())
    try:
        return run()
    except (*AWS_ERRORS, ConfigError) as exc:
        return [Check(name, "fail", f"could not check: {exc}", "the operator's identity needs read access to it")]


def _raw_targets(env: Environment) -> tuple[list[dict[str, Any]], Check | None]:
    """The targets parameter as configured (disabled ones too: their secrets only warn)."""
    try:
        raw = env.configuration().parameter("targets")
    except (ConfigError, *AWS_ERRORS) as exc:
        return [], Check("targets parameter", "fail", str(exc), "apply Terraform for this environment")
    items = raw.get("targets", raw) if isinstance(raw, dict) else raw
    return ([t for t in items if isinstance(t, dict)] if isinstance(items, list) else []), None


def _needs(env: Environment, targets: list[dict[str, Any]]) -> preflight.Needs:
    queues = {name: c.maximum_concurrency for name, c in env.manifest.consumers.items() if c.maximum_concurrency}
    memory, reserved = _deployed_functions(env)
    return preflight.Needs(
        env=env.name,
        targets=targets,
        memory_sizes=memory,
        reserved_concurrency=reserved,
        queue_concurrency={k: int(v) for k, v in queues.items()},
    )


def _deployed_functions(env: Environment) -> tuple[dict[str, int], dict[str, int]]:
    """(memory MB, reserved concurrency) per deployed function, as Lambda reports them."""
    memory: dict[str, int] = {}
    reserved: dict[str, int] = {}
    if env.local or not env.manifest.functions:
        return memory, reserved
    lam = env.client("lambda")
    for name, function in env.manifest.functions.items():
        try:
            memory[name] = int(lam.get_function_configuration(FunctionName=function).get("MemorySize") or 0)
            concurrency = lam.get_function_concurrency(FunctionName=function).get("ReservedConcurrentExecutions")
        except AWS_ERRORS:
            continue  # a missing function shows in the concurrency and queue checks' numbers
        if concurrency:
            reserved[name] = int(concurrency)
    return memory, reserved


def _account_checks(env: Environment, needs: preflight.Needs, checks: list[Check]) -> None:
    if not env.manifest.functions:
        checks.append(
            Check(
                "functions",
                "warn",
                f"{manifest_parameter(env.name)} names no functions",
                "apply terraform/envs/aws with this version (it passes the function names to the manifest)",
            )
        )

    def concurrency() -> list[Check]:
        # Already deployed: what the functions reserve is part of what is reserved now.
        lam = env.client("lambda")
        return preflight.check_concurrency(lam.get_account_settings(), needs, sum(needs.reserved_concurrency.values()))

    checks += _guarded("lambda concurrency", concurrency)
    checks.append(preflight.check_memory(needs))
    checks += _guarded(
        "api gateway cloudwatch role",
        lambda: [preflight.check_apigateway_role(env.client("apigateway").get_account())],
    )


def queue_checks(env: Environment) -> list[Check]:
    """Every consumer's queue answers; every DLQ is empty (a warning when not: `dlq show`)."""
    sqs = env.client("sqs")
    checks = []
    for name, consumer in sorted(env.manifest.consumers.items()):
        try:
            work = dead_letters.depth(sqs, consumer.queue_url)
        except AWS_ERRORS as exc:
            checks.append(
                Check(f"queue {name}", "fail", f"unreachable: {exc}", "re-apply Terraform; check --env/--region")
            )
            continue
        checks.append(Check(f"queue {name}", "ok", f"{work.visible} waiting, {work.in_flight} in flight"))
    for queue in env.manifest.dead_letter_queues():
        try:
            dead = dead_letters.depth(sqs, queue.url)
        except AWS_ERRORS as exc:
            checks.append(Check(f"dlq {queue.name}", "fail", f"unreachable: {exc}", "re-apply Terraform"))
            continue
        if dead.total:
            fix = f"socialomega --env {env.name} dlq show {queue.name}" + (
                f", fix the cause, then: socialomega --env {env.name} dlq redrive {queue.name}"
                if queue.source_url
                else ""
            )
            checks.append(Check(f"dlq {queue.name}", "warn", f"{dead.total} message(s)", fix))
        else:
            checks.append(Check(f"dlq {queue.name}", "ok", "empty"))
    return checks


def breaker_checks(env: Environment, now: datetime | None = None) -> list[Check]:
    """Each target's circuit breaker (core/breaker.py, `breakers/<target>.json`): open or probing
    is a warning naming how long and why."""
    store = env.store()
    now = now or datetime.now(UTC)
    checks = []
    for key in store.list_keys(keys.breaker_key("")[: -len(".json")]):
        doc = store.get(key)
        if doc is None:
            continue
        target = key.rsplit("/", 1)[-1].removesuffix(".json")
        state = str(doc.data.get("state") or "closed")
        if state == "closed":
            checks.append(Check(f"breaker {target}", "ok", "closed"))
            continue
        since = doc.data.get("open_since")
        minutes = f" for {(now.timestamp() - float(since)) / 60:.0f} min" if since else ""
        checks.append(
            Check(
                f"breaker {target}",
                "warn",
                f"{state}{minutes} after {doc.data.get('failures', 0)} consecutive failures "
                f"(last: {doc.data.get('last_reason', '')})",
                f"the platform is failing: socialomega --env {env.name} status --target {target} --failed; "
                "it closes by itself after a successful probe",
            )
        )
    return checks or [Check("breakers", "ok", "none recorded (no target has failed in a row)")]


def parked_check(env: Environment) -> Check:
    parked = parking.parked_photos(env.store())
    if not parked:
        return Check("parked photos", "ok", "none")
    return Check(
        "parked photos",
        "warn",
        f"{len(parked)} photo(s) the poller stopped retrying, "
        f"e.g. {parked[0].get('asset_id')}: {parked[0].get('reason')}",
        f"socialomega --env {env.name} parked",
    )


def alarm_topic_check(env: Environment) -> Check:
    """At least one confirmed subscription: an e-mail subscription stays `PendingConfirmation`
    until its link is clicked, and until then no alarm reaches anybody."""
    arn = env.manifest.alarm_topic_arn
    if not arn:
        return Check(
            "alarm topic",
            "warn",
            "the manifest names no alarm topic",
            "apply terraform/envs/aws with this version (alarm_email or alarm_topic_arn)",
        )
    sns = env.client("sns")
    subscriptions = []
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=arn):
        subscriptions += page.get("Subscriptions", [])
    confirmed = [s for s in subscriptions if str(s.get("SubscriptionArn", "")).startswith("arn:")]
    if confirmed:
        kinds = ", ".join(sorted({str(s.get("Protocol")) for s in confirmed}))
        return Check("alarm topic", "ok", f"{len(confirmed)} confirmed subscription(s) ({kinds})")
    pending = len(subscriptions) - len(confirmed)
    return Check(
        "alarm topic",
        "fail",
        f"no confirmed subscription ({pending} pending confirmation): alarms and failed posts reach nobody",
        "click the link in the confirmation e-mail AWS sent to alarm_email, or set alarm_email / "
        "alarm_subscriptions in the tfvars and deploy",
    )
