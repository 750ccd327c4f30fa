"""`make demo`: the sandbox, Terraform on LocalStack, one poll through the whole pipeline,
and a table of what happened. Run it twice: the second run publishes nothing again."""

from __future__ import annotations

import time
from pathlib import Path

from socialomega.core import aws
from socialomega.core import logging as solog
from socialomega.core.store import MetadataStore
from socialomega.local import localstack, ops, report, sandbox_config, terraform
from socialomega.local.runtime import LocalRuntime, apply_service_env
from socialomega.poller.poll import SourceFailed
from socialomega.sandbox import webhooks as sandbox_webhooks
from socialomega.sandbox.server import DEMO_PORTS, Sandbox


def _fans_engage(store: MetadataStore, webhook_url: str, new_post_keys: set[str]) -> dict[str, int]:
    """Each platform fake notifies SocialOmega of a fan's engagement on each post of this run,
    signed as the platform signs it, through the local API Gateway."""
    counts = {"sent": 0, "recorded": 0, "refused": 0}
    for key in sorted(new_post_keys):
        post = store.get(key)
        if post is None:
            continue  # no post: nothing a fan could engage with
        platform = post.data["platform"]
        for kind in sandbox_webhooks.NOTIFIED_KINDS.get(platform, ())[:2]:
            answer = sandbox_webhooks.deliver(
                webhook_url, platform, sandbox_webhooks.notification(platform, kind, post.data["remote_id"])
            )
            counts["sent"] += 1
            if answer.status_code == 200:
                counts["recorded"] += answer.json().get("recorded", 0)
            else:
                counts["refused"] += 1
    return counts


def run_demo(env: str, timeout: float) -> int:
    logs = localstack.BUILD / "demo-logs.jsonl"
    solog.configure(stream=open(logs, "a", buffering=1))  # noqa: SIM115 (lives as long as the process)
    sandbox = Sandbox(
        lightroom_port=DEMO_PORTS["lightroom"],
        rest_port=DEMO_PORTS["rest"],
        social_ports=DEMO_PORTS,
        seed=7,
        include_corrupt=True,
    )
    sandbox.start()
    try:
        print("sandbox: " + ", ".join(f"{name} {url}" for name, url in sandbox.urls.items()))
        print(f"terraform apply terraform/envs/local (workspace {env}) to LocalStack {localstack.ENDPOINT} ...")
        outputs, seconds = terraform.apply(
            env,
            {
                "lightroom_settings": sandbox_config.lightroom_settings(sandbox.lightroom_url),
                "targets": sandbox_config.targets(sandbox.urls, gallery=False, x_daily_cap=17),
                "secrets": sandbox_config.secrets(sandbox.credentials),
            },
        )
        print(f"  applied in {seconds:.1f} s")
        apply_service_env(outputs, localstack.ENDPOINT)
        env_vars = outputs["service_env"]
        store = MetadataStore(aws.client("s3"), env_vars["SO_STORE_BUCKET"])
        posts_before = set(store.list_keys("posts/"))
        runtime = LocalRuntime.from_terraform_outputs(outputs, webhook_port=0)
        started = time.monotonic()
        try:  # the poll first: started after it, the schedule's next tick is a full period away
            poll = runtime.run_schedule("poller")
        except SourceFailed as exc:  # an intake failed as a whole: shown below, the rest ran
            poll = exc.result
        runtime.start()
        idle = runtime.wait_until_idle(timeout=timeout)
        elapsed = time.monotonic() - started
        fans = _fans_engage(store, runtime.webhook_url or "", set(store.list_keys("posts/")) - posts_before)
        idle = runtime.wait_until_idle(timeout=timeout) and idle
        runtime.stop()
        targets = sorted(
            name.removeprefix("publisher-") for name in outputs["consumers"] if name.startswith("publisher-")
        )
        table = report.rows(store, targets)
        new_posts = len(sandbox.rest_posts()) + sum(len(sandbox.social_posts(p)) for p in sandbox.social)
        print()
        print(
            f"poll: {len(poll['detected'])} new photo(s), {poll['already_seen']} already seen"
            + (f", {len(poll['failed'])} failed: {poll['failed']}" if poll["failed"] else "")
        )
        print(
            f"pipeline {'finished' if idle else 'DID NOT FINISH'} in {elapsed:.1f} s; "
            f"the sandbox platforms received {new_posts} new post(s) in this run"
        )
        print(
            f"engagement: the platforms sent {fans['sent']} signed webhook notification(s) about the new posts "
            f"to {runtime.webhook_url}/webhooks/<platform>; {fans['recorded']} recorded"
            + (f", {fans['refused']} REFUSED" if fans["refused"] else "")
        )
        print()
        print(report.render(table))
        print()
        print("summary:", ", ".join(f"{n} {status}" for status, n in sorted(report.summary(table).items())))
        for name, items in ops.dlq_contents({n: c["dlq_url"] for n, c in outputs["consumers"].items()}).items():
            for item in items:
                print(f"DLQ {name}: {item['asset_id']} [{item['code']}] {item['reason']}")
        print()
        print("where the results live (LocalStack):")
        print(f"  raw renditions     s3://{env_vars['SO_RAW_BUCKET']}/raw/")
        print(f"  variants           s3://{env_vars['SO_PROCESSED_BUCKET']}/processed/")
        print(f"  publications       s3://{env_vars['SO_STORE_BUCKET']}/publications/")
        print(
            f"  analytics          s3://{env_vars['SO_STORE_BUCKET']}/analytics/ (status/<asset>.json: "
            "status and engagement per target)"
        )
        print(f"  logs (JSON lines)  {Path(logs).relative_to(localstack.ROOT)}")
        print("run `make demo` again: nothing is published twice. `make down` stops LocalStack.")
        return 0 if idle else 1
    finally:
        sandbox.stop()
