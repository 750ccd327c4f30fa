"""LocalStack 4.14.0 (community) with its state kept across a restart: the launcher that
`localstack.start()` runs natively instead of `python -m localstack.runtime.main`.

Run by LocalStack's own interpreter (`.build/localstack-venv`), as a script: it imports
nothing of socialomega. Why it exists: community 4.14.0 keeps nothing across a restart.
`PERSISTENCE=1` is read but no snapshot plugin ships with the community build (the
`localstack.persistence.snapshot` namespace has no implementation, and there is no
`/_localstack/state/*` or `/_localstack/pods` endpoint: they answer 404), and LocalStack
documents persistence, `localstack state export/import` and Cloud Pods as paid features
(docs.localstack.cloud "Persistence", "Export & Import State"; localstack/localstack#4613:
"`PERSISTENCE=1` ... is a Pro-only feature"). Measured here: a restart with `PERSISTENCE=1`
lost every bucket, queue, subscription, rule, parameter and secret.

What it does instead, with the state API that community does ship (each service provider's
`accept_state_visitor` and `localstack.state.pickle`, the dill pickler LocalStack's own
persistence uses; the approach of GREsau/localstack-persist, re-done small):
  * on shutdown, if `<state dir>/save-requested` exists (`localstack.restart()` writes it):
    close a gate in front of the AWS APIs (external calls answer 503 `ServiceUnavailable`,
    which SDKs retry; LocalStack's calls to itself, e.g. SNS delivering to SQS, still pass),
    wait until no call is running and none started for `QUIET_SECONDS`, then pickle every
    loaded service's stores (moto backends, LocalStack stores) to `<service>.state`, S3 object
    bytes included (LocalStack keeps them in temporary files keyed by a per-process hash);
  * on start, if `SOCIALOMEGA_RESTORE_STATE=1`: before the gateway listens, start each saved
    service and load its stores in place, put the S3 bytes back, and rebuild what providers
    keep outside their stores (EventBridge target senders, rule and archive services).
Locks are pickled as new, unlocked locks (dill would restore a lock held at save time as held
by a thread that no longer exists). Both steps write a JSON report next to the state files.

Kept (measured with a probe and in tests/faults): S3 buckets, object versions and bytes; SQS
queues with visible, in-flight (their visibility deadlines) and delayed messages, receipt
handles and redrive policies; SNS topics, subscriptions and filter policies (delivery to SQS
works after the restart); EventBridge buses, rules, targets and archives (delivery works);
SSM parameters; Secrets Manager secrets; CloudWatch and STS state. Any other service that was
loaded is saved the same way (not measured). Not kept: S3 multipart uploads in progress,
running SQS message move tasks, EventBridge schedules' timers (rules keep their expression).
"""

from __future__ import annotations

import copyreg
import json
import os
import threading
import time
import types
from pathlib import Path
from typing import Any

STATE_DIR_ENV = "SOCIALOMEGA_STATE_DIR"
RESTORE_ENV = "SOCIALOMEGA_RESTORE_STATE"
SAVE_REQUEST = "save-requested"
SAVE_REPORT = "save-report.json"
LOAD_REPORT = "load-report.json"
QUIET_SECONDS = 1.0  # no call started for this long: LocalStack's own async deliveries are done
GATE_TIMEOUT = 15.0  # longest wait for running calls (a long poll) before saving anyway


def state_dir() -> Path:
    return Path(os.environ[STATE_DIR_ENV])


class Gate:
    """Counts the AWS calls in progress; once closed, refuses external ones with a 503."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.closed = False
        self.active = 0
        self.last_start = 0.0
        self.refused = 0

    def on_request(self, chain: Any, context: Any, response: Any) -> None:
        if not context.service:
            return
        with self._cond:
            if self.closed and not context.is_internal_call:
                self.refused += 1
                from localstack.aws.api import CommonServiceException

                raise CommonServiceException("ServiceUnavailable", "LocalStack is restarting", status_code=503)
            self.active += 1
            self.last_start = time.monotonic()
            context.socialomega_counted = True

    def on_finalize(self, chain: Any, context: Any, response: Any) -> None:
        if getattr(context, "socialomega_counted", False):
            context.socialomega_counted = False
            with self._cond:
                self.active -= 1
                self._cond.notify_all()

    def close_and_settle(self) -> dict[str, Any]:
        """Refuse external calls, then wait until nothing runs and nothing started for QUIET_SECONDS."""
        started = time.monotonic()
        deadline = started + GATE_TIMEOUT
        with self._cond:
            self.closed = True
            running_at_close = self.active
            while time.monotonic() < deadline:
                quiet = time.monotonic() - self.last_start >= QUIET_SECONDS
                if self.active == 0 and quiet:
                    break
                self._cond.wait(0.1)
            return {
                "running_at_close": running_at_close,
                "still_running": self.active,
                "waited_seconds": round(time.monotonic() - started, 3),
            }


GATE = Gate()


def _containers(service: Any) -> list[Any]:
    """The state containers a service exposes (stores, backends), asset directories left out."""
    from localstack.state import AssetDirectory, StateVisitor

    found: list[Any] = []

    class Collect(StateVisitor):  # type: ignore[misc]
        def visit(self, state_container: Any) -> None:
            if not isinstance(state_container, AssetDirectory):
                found.append(state_container)

    service.accept_state_visitor(Collect())
    return found


def _s3_objects(provider: Any) -> list[tuple[str, str, str | None, int, bytes]]:
    """(bucket, key, version id, internal last-modified, bytes) of every stored object version."""
    from localstack.services.s3.models import S3DeleteMarker, s3_stores

    backend = provider._storage_backend
    names: dict[tuple[str, str], tuple[str, str | None]] = {}
    for _, _, store in s3_stores.iter_stores():
        for bucket_name, bucket in store.buckets.items():
            for obj in bucket.objects.values(with_versions=True):
                if not isinstance(obj, S3DeleteMarker):
                    names[(bucket_name, backend._key_from_s3_object(obj))] = (obj.key, obj.version_id)
    objects = []
    for bucket_name, files in backend._filesystem.items():
        for file_key, file in files["keys"].items():
            name = names.get((bucket_name, file_key))
            if name is None:
                continue  # the bytes of a deleted object
            with file.position_lock:
                file.seek(0)
                data = file.read()
            objects.append((bucket_name, name[0], name[1], file.internal_last_modified, data))
    return objects


def _restore_s3_objects(provider: Any, objects: list[tuple[str, str, str | None, int, bytes]]) -> None:
    from localstack.services.s3.storage.ephemeral import S3_MAX_FILE_SIZE_BYTES, LockedSpooledTemporaryFile

    backend = provider._storage_backend
    for bucket_name, key, version_id, modified, data in objects:
        file = LockedSpooledTemporaryFile(
            dir=os.path.join(backend.root_directory, bucket_name), max_size=S3_MAX_FILE_SIZE_BYTES
        )
        file.write(data)
        file.seek(0)
        file.internal_last_modified = modified  # the provider checks it against the object's
        name = backend._key_from_s3_object(types.SimpleNamespace(key=key, version_id=version_id))
        backend._filesystem[bucket_name]["keys"][name] = file


def _rebuild_events(provider: Any) -> None:
    """What the EventBridge provider keeps beside its stores, rebuilt from the loaded stores."""
    from localstack.services.events.archive import ArchiveService
    from localstack.services.events.models import events_stores
    from localstack.services.events.rule import RuleService
    from localstack.services.events.utils import is_archive_arn

    for account_id, region, store in events_stores.iter_stores():
        for bus in store.event_buses.values():
            for rule in bus.rules.values():
                provider._rule_services_store[rule.arn] = RuleService(rule)
                for target in rule.targets.values():
                    if not is_archive_arn(target["Arn"]):
                        provider.create_target_sender(target, rule.arn, rule.name, region, account_id)
        for archive in store.archives.values():
            provider._archive_service_store[archive.arn] = ArchiveService(archive)


def save() -> dict[str, Any]:
    from localstack.services.plugins import SERVICE_PLUGINS
    from localstack.state import pickle as ls_pickle

    report: dict[str, Any] = {}
    for name in SERVICE_PLUGINS.list_loaded_services():
        service = SERVICE_PLUGINS.get_service(name)
        started = time.monotonic()
        try:
            blob: dict[str, Any] = {"containers": _containers(service)}
            provider = getattr(service, "_provider", None)
            if name == "s3" and provider is not None:
                blob["s3_objects"] = _s3_objects(provider)
            data = ls_pickle.dumps(blob)
            path = state_dir() / f"{name}.state"
            path.with_suffix(".tmp").write_bytes(data)
            path.with_suffix(".tmp").replace(path)
            report[name] = {"bytes": len(data), "seconds": round(time.monotonic() - started, 3)}
        except Exception as exc:  # one service that cannot be saved must not stop the others
            report[name] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
    return report


def load() -> dict[str, Any]:
    from localstack.services.plugins import SERVICE_PLUGINS
    from localstack.state import pickle as ls_pickle

    report: dict[str, Any] = {}
    for path in sorted(state_dir().glob("*.state")):
        name = path.stem
        started = time.monotonic()
        try:
            service = SERVICE_PLUGINS.require(name)
            blob = ls_pickle.loads(path.read_bytes())
            live = _containers(service)
            if len(live) != len(blob["containers"]):
                raise RuntimeError(f"{len(blob['containers'])} saved containers, {len(live)} live ones")
            for target, saved in zip(live, blob["containers"], strict=True):
                if isinstance(target, dict):
                    target.clear()
                    target.update(saved)
                target.__dict__.update(saved.__dict__)
            provider = getattr(service, "_provider", None)
            if name == "s3" and provider is not None:
                _restore_s3_objects(provider, blob.get("s3_objects", []))
            if name == "events" and provider is not None:
                _rebuild_events(provider)
            if provider is not None and hasattr(provider, "on_after_state_load"):
                provider.on_after_state_load()
            report[name] = {"loaded": True, "seconds": round(time.monotonic() - started, 3)}
        except Exception as exc:
            report[name] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
    return report


def _register_reducers() -> None:
    """Locks come back new and unlocked; moto's ParameterDict (a defaultdict whose __init__
    wants account and region) comes back without calling __init__."""
    from localstack.state import pickle as ls_pickle
    from moto.ssm.models import ParameterDict

    def fresh_lock(pickler: Any, obj: Any) -> None:
        pickler.save_reduce(threading.Lock, (), obj=obj)

    def fresh_rlock(pickler: Any, obj: Any) -> None:
        pickler.save_reduce(threading.RLock, (), obj=obj)

    def parameter_dict(pickler: Any, obj: Any) -> None:
        state = (obj.__dict__, {"default_factory": obj.default_factory})
        newobj = copyreg.__newobj__  # type: ignore[attr-defined]  # not in typeshed; what pickle itself uses
        pickler.save_reduce(newobj, (type(obj),), state=state, dictitems=iter(obj.items()), obj=obj)

    ls_pickle.register(type(threading.Lock()))(fresh_lock)
    ls_pickle.register(type(threading.RLock()))(fresh_rlock)
    ls_pickle.register(ParameterDict, subclasses=True)(parameter_dict)


def _write_report(name: str, report: dict[str, Any]) -> None:
    (state_dir() / name).write_text(json.dumps(report, indent=1, sort_keys=True))


def main() -> None:
    from localstack.aws import handlers
    from localstack.runtime import hooks
    from localstack.runtime.main import main as localstack_main

    state_dir().mkdir(parents=True, exist_ok=True)
    _register_reducers()
    original_start, original_shutdown = hooks.on_infra_start.run, hooks.on_infra_shutdown.run

    def start(*args: Any, **kwargs: Any) -> None:
        original_start(*args, **kwargs)  # runs before the gateway listens (runtime.run)
        handlers.serve_custom_service_request_handlers.append(GATE.on_request)
        handlers.run_custom_finalizers.append(GATE.on_finalize)
        if os.environ.get(RESTORE_ENV) == "1":
            started = time.monotonic()
            report = load()
            _write_report(LOAD_REPORT, {"services": report, "seconds": round(time.monotonic() - started, 3)})

    def shutdown(*args: Any, **kwargs: Any) -> None:
        request = state_dir() / SAVE_REQUEST
        if request.exists():
            started = time.monotonic()
            gate = GATE.close_and_settle()
            report = save()
            request.unlink()
            _write_report(
                SAVE_REPORT,
                {"services": report, "gate": gate, "refused": GATE.refused, "seconds": time.monotonic() - started},
            )
        original_shutdown(*args, **kwargs)

    hooks.on_infra_start.run = start
    hooks.on_infra_shutdown.run = shutdown
    localstack_main()


if __name__ == "__main__":
    main()
