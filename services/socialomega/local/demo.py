"""`make demo`: the sandbox, Terraform on LocalStack, one poll through the whole pipeline,
and a table of what happened. Run it twice: the second run publishes nothing again."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from pathlib import Path

from socialomega.analytics.report import build_report
from socialomega.cli import analytics as analytics_view
from socialomega.core import aws
from socialomega.core import logging as solog
from socialomega.core.store import MetadataStore
from socialomega.local import localstack, ops, report, sandbox_config, terraform
from socialomega.local.runtime import LocalRuntime, apply_service_env
from socialomega.poller.poll import SourceFailed
from socialomega.sandbox.server import DEMO_PORTS, Sandbox


def _fans_engage(sandbox: Sandbox, webhook_url: str, posts_before: dict[str, set[str]]) -> dict[str, int]:
    """Fans like, comment on, share and save each post this run made on the social fakes. Each
    fake notifies SocialOmega by signed webhook where its platform does (Instagram: comments,
    never likes), through the local API Gateway; every figure stays in the fakes' ground truth,
    which the insights puller then reads back."""
    rng = random.Random(7)
    counts = {"posts": 0, "actions": 0, "notified": 0}
    for platform in sandbox.social:
        sandbox.set_webhook_url(platform, webhook_url)
        try:
            for post in sandbox.engagement(platform):
                if post["post_id"] in posts_before[platform]:
                    continue
                counts["posts"] += 1
                for kind, most in (("like", 9), ("comment", 3), ("share", 2), ("save", 2)):
                    n = rng.randint(1 if kind == "like" else 0, most)
                    if n:
                        answer = sandbox.engage(platform, post["post_id"], kind, n, notify=True)
                        counts["actions"] += n
                        counts["notified"] += len(answer.get("notified") or [])
        finally:
            sandbox.set_webhook_url(platform, None)
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
        posts_before = {p: {post["post_id"] for post in sandbox.engagement(p)} for p in sandbox.social}
        runtime = LocalRuntime.from_terraform_outputs(outputs, webhook_port=0)
        targets = sorted(
            name.removeprefix("publisher-") for name in outputs["consumers"] if name.startswith("publisher-")
        )

        def waiting() -> int:  # publications deferred to a later time (X's daily cap, say): not due now
            return sum(1 for row in report.rows(store, targets) if row.status == "deferred")

        started = time.monotonic()
        try:  # the poll first: started after it, the schedule's next tick is a full period away
            poll = runtime.run_schedule("poller")
        except SourceFailed as exc:  # an intake failed as a whole: shown below, the rest ran
            poll = exc.result
        runtime.start()
        idle = runtime.wait_until_idle(timeout=timeout, waiting=waiting)
        elapsed = time.monotonic() - started
        fans = _fans_engage(sandbox, runtime.webhook_url or "", posts_before)
        idle = runtime.wait_until_idle(timeout=timeout, waiting=waiting) and idle
        runtime.run_schedule("insights")  # the platforms' own figures, as the hourly schedule reads them
        runtime.stop()
        table = report.rows(store, targets)
        deferred = [row for row in table if row.status == "deferred"]
        new_posts = len(sandbox.rest_posts()) + sum(len(sandbox.social_posts(p)) for p in sandbox.social)
        print()
        print(
            f"poll: {len(poll['detected'])} new photo(s), {poll['already_seen']} already seen"
            + (f", {len(poll['failed'])} failed: {poll['failed']}" if poll["failed"] else "")
        )
        print(
            f"pipeline {'finished' if idle else 'DID NOT FINISH'} in {elapsed:.1f} s; "
            f"the sandbox platforms received {new_posts} new post(s) in this run"
            + (f"; {len(deferred)} wait for a later time (see their next try below)" if deferred else "")
        )
        print(
            f"engagement: fans acted {fans['actions']} time(s) on the {fans['posts']} new social post(s); the "
            f"platforms sent {fans['notified']} signed webhook notification(s) to {runtime.webhook_url}/webhooks/"
            "<platform>, and the insights puller read every post's figures from the platforms"
        )
        print()
        print(report.render(table))
        print()
        print("summary:", ", ".join(f"{n} {status}" for status, n in sorted(report.summary(table).items())))
        for name, items in ops.dlq_contents({n: c["dlq_url"] for n, c in outputs["consumers"].items()}).items():
            for item in items:
                print(f"DLQ {name}: {item['asset_id']} [{item['code']}] {item['reason']}")
        print()
        today = datetime.now(UTC).date()
        analytics = build_report(store, since=today, until=today, environment=env)
        print("analytics (today's posts; `socialomega analytics` for any range, --json, --csv, --html):")
        print(analytics_view.table(analytics))
        html_path = localstack.BUILD / "analytics-report.html"
        analytics_view.write_html(
            analytics, analytics_view.object_reader(aws.client("s3"), env_vars["SO_PROCESSED_BUCKET"]), str(html_path)
        )
        print(f"HTML report with charts: {html_path.relative_to(localstack.ROOT)} (open it in a browser)")
        print()
        print("where the results live (LocalStack):")
        print(f"  raw renditions     s3://{env_vars['SO_RAW_BUCKET']}/raw/")
        print(f"  variants           s3://{env_vars['SO_PROCESSED_BUCKET']}/processed/")
        print(f"  publications       s3://{env_vars['SO_STORE_BUCKET']}/publications/")
        print(
            f"  analytics          s3://{env_vars['SO_STORE_BUCKET']}/analytics/ (status/<asset>.json, "
            "posts/<day>/, insights/<target>/<post>.json, daily/<day>/<shard>.json)"
        )
        print(f"  logs (JSON lines)  {Path(logs).relative_to(localstack.ROOT)}")
        print("run `make demo` again: nothing is published twice. `make down` stops LocalStack.")
        return 0 if idle else 1
    finally:
        sandbox.stop()
