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
from socialomega.sandbox.server import DEMO_PORTS, Sandbox



def run_demo(env: str, timeout: float) -> int:
    logs = localstack.BUILD / "demo-logs.jsonl"
    solog.configure(stream=open(logs, "a", buffering=1))  # noqa: SIM115 (lives as long as the process)
    sandbox = Sandbox(lightroom_port=DEMO_PORTS["lightroom"], rest_port=DEMO_PORTS["rest"], social_ports=DEMO_PORTS,
                      seed=7, include_corrupt=True)
    sandbox.start()
    try:
        print("sandbox: " + ", ".join(f"{name} {url}" for name, url in sandbox.urls.items()))
        print(f"terraform apply terraform/envs/local (workspace {env}) to LocalStack {localstack.ENDPOINT} ...")
        outputs, seconds = terraform.apply(env, {
            "lightroom_settings": sandbox_config.lightroom_settings(sandbox.lightroom_url),
            "targets": sandbox_config.targets(sandbox.urls, gallery=False, x_daily_cap=17),
            "secrets": sandbox_config.secrets(sandbox.credentials),
        })
        print(f"  applied in {seconds:.1f} s")
        apply_service_env(outputs, localstack.ENDPOINT)
        runtime = LocalRuntime.from_terraform_outputs(outputs)
        runtime.start()
        started = time.monotonic()
        try:
            poll = runtime.run_schedule("poller")
        except SourceFailed as exc:   # an intake failed as a whole: shown below, the rest ran
            poll = exc.result
        idle = runtime.wait_until_idle(timeout=timeout)
        elapsed = time.monotonic() - started
        runtime.stop()
        env_vars = outputs["service_env"]
        store = MetadataStore(aws.client("s3"), env_vars["SO_STORE_BUCKET"])
        targets = sorted(name.removeprefix("publisher-") for name in outputs["consumers"] if name.startswith("publisher-"))
        table = report.rows(store, targets)
        new_posts = len(sandbox.rest_posts()) + sum(len(sandbox.social_posts(p)) for p in sandbox.social)
        print()
        print(f"poll: {len(poll['detected'])} new photo(s), {poll['already_seen']} already seen"
              + (f", {len(poll['failed'])} failed: {poll['failed']}" if poll["failed"] else ""))
        print(f"pipeline {'finished' if idle else 'DID NOT FINISH'} in {elapsed:.1f} s; "
              f"the sandbox platforms received {new_posts} new post(s) in this run")
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
        print(f"  analytics          s3://{env_vars['SO_STORE_BUCKET']}/analytics/")
        print(f"  logs (JSON lines)  {Path(logs).relative_to(localstack.ROOT)}")
        print("run `make demo` again: nothing is published twice. `make down` stops LocalStack.")
        return 0 if idle else 1
    finally:
        sandbox.stop()
