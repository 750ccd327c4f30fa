"""The `socialomega` command's click commands: options in, domain code called, output out.

Every command works on one environment, found from `--env` alone (ops/environment.py: the SSM
manifest `/socialomega/<env>/operations`), on LocalStack or in an AWS account; `--json` (on the
group or on any command) prints JSON instead of a table. `--timeout SECONDS` (the group's or a
command's, the command's winning; default 120) is the one deadline of a command's whole run: bound
for everything below it (core/deadline.py: each HTTP call is cut to what is left), and once it has
passed the command stops with "stopped at the --timeout" (a redrive's task goes on in SQS). Exit
status: 0 done and healthy, 1 a failure (a failed check, a redrive that did not complete, the
timeout, an error), 2 bad usage.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TextIO

import click
from botocore.exceptions import BotoCoreError, ClientError

from socialomega.cli import dead_letters, output
from socialomega.cli import status as photo_status
from socialomega.core.config import ConfigError
from socialomega.core.deadline import Deadline, DeadlineReached, bound
from socialomega.ops.environment import DeadLetterQueue, Environment, ManifestError

DEFAULT_TIMEOUT = 120.0  # seconds: a command's whole run, whatever it waits for


@dataclass
class State:
    env_name: str = "local"
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    json: bool = False
    resolved: Environment | None = None  # tests hand one in
    out: TextIO | None = None  # where the table or the JSON goes: stdout, kept for it alone
    timeout: float = DEFAULT_TIMEOUT
    token_targets: tuple[str, ...] = field(default_factory=tuple)  # `tokens --target`, for `tokens refresh` too
    _deadline: Deadline | None = None

    def deadline(self) -> Deadline:
        """The command's one deadline, `timeout` from its first use (the start of its work)."""
        if self._deadline is None:
            self._deadline = Deadline.in_seconds(self.timeout, margin=0.0)
        return self._deadline

    @contextlib.contextmanager
    def working(self) -> Iterator[Deadline]:
        """The command's work, under its deadline (`core.deadline.current()` answers it)."""
        with bound(self.deadline()) as deadline:
            yield deadline

    def environment(self) -> Environment:
        """The environment, resolved once. From here on, whatever the domain code writes to
        stdout (log lines, metric lines) goes to stderr: stdout is the result's alone."""
        if self.out is None:
            self.out = sys.stdout
            click.get_current_context().with_resource(contextlib.redirect_stdout(sys.stderr))
        if self.resolved is None:
            self.resolved = Environment.resolve(self.env_name, self.profile, self.region, self.endpoint_url)
        return self.resolved

    def show(self, data: Any, text: str) -> None:
        output.emit(output.as_json(data) if self.json else text, self.out)


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(State).json = True


def json_option[F: Callable[..., Any]](f: F) -> F:
    option = click.option(
        "--json", is_flag=True, expose_value=False, callback=_set_json, help="JSON instead of a table."
    )
    return option(f)


def _set_timeout(ctx: click.Context, _param: click.Parameter, value: float | None) -> None:
    if value is None:
        return
    if value <= 0:
        raise click.BadParameter("must be more than 0 seconds")
    ctx.ensure_object(State).timeout = value


def timeout_option[F: Callable[..., Any]](f: F) -> F:
    option = click.option(
        "--timeout",
        type=float,
        metavar="SECONDS",
        expose_value=False,
        callback=_set_timeout,
        help=f"Stop the command after this many seconds (default {DEFAULT_TIMEOUT:.0f}).",
    )
    return option(f)


def command_options[F: Callable[..., Any]](f: F) -> F:
    """--json and --timeout, which every command takes as the group does."""
    return json_option(timeout_option(f))


def pass_state[F: Callable[..., Any]](f: F) -> F:
    """Hands the command its `State`, and runs it under the command's deadline."""

    @functools.wraps(f)
    def run(*args: Any, **kwargs: Any) -> Any:
        state = click.get_current_context().ensure_object(State)
        with state.working():
            return f(state, *args, **kwargs)

    return run  # type: ignore[return-value]


def timed_out(state: State, what: str, longer: bool = True) -> str:
    again = " (run it again with a longer one: socialomega --timeout SECONDS ...)" if longer else ""
    return f"stopped at the --timeout of {state.timeout:g} s: {what}{again}"


class Commands(click.Group):
    """Turns the errors an operator can fix into one clear line (exit 1), not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ManifestError, ConfigError, dead_letters.NotRedrivable) as exc:
            raise click.ClickException(str(exc)) from None
        except DeadlineReached as exc:
            raise click.ClickException(timed_out(ctx.ensure_object(State), f"{exc.what} not finished")) from None
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise click.ClickException(f"AWS refused: {error.get('Code')}: {error.get('Message')}") from None
        except BotoCoreError as exc:
            raise click.ClickException(f"cannot reach AWS: {exc}") from None


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--env", "env_name", default="local", show_default=True, envvar="SOCIALOMEGA_ENV", help="Environment.")
@click.option("--profile", help="AWS profile (default: AWS_PROFILE, then the SDK's chain).")
@click.option("--region", help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's).")
@click.option(
    "--endpoint-url",
    help="A local stack's endpoint (default: AWS_ENDPOINT_URL; for --env local, LocalStack as local mode finds it).",
)
@command_options
@click.pass_context
def cli(ctx: click.Context, env_name: str, profile: str | None, region: str | None, endpoint_url: str | None) -> None:
    """Operate a SocialOmega environment: photo status, dead letters, replay, tokens, health."""
    state = ctx.ensure_object(State)
    state.env_name, state.profile, state.region, state.endpoint_url = env_name, profile, region, endpoint_url


def _time(value: str | None) -> str | None:
    return value[:19].replace("T", " ") if value else None


# --- status ---------------------------------------------------------------------------------


@cli.command()
@click.option("--asset", "asset_id", help="Only this photo (asset id).")
@click.option("--target", help="Only this target.")
@click.option(
    "--failed",
    is_flag=True,
    help="Only what needs a person: failed, unconfirmed, rejected, or retrying after an error.",
)
@command_options
@pass_state
def status(state: State, asset_id: str | None, target: str | None, failed: bool) -> None:
    """Every photo x target: state, post, reason, detected and published times."""
    env = state.environment()
    names = [t.name for t in env.targets()]
    if target is not None and target not in names:
        raise click.BadParameter(
            f"{target!r} is not an enabled target; one of: {', '.join(names)}", param_hint="--target"
        )
    rows = photo_status.photo_statuses(env.store(), names, asset_id=asset_id, target=target, failed_only=failed)
    table = output.table(
        ["asset", "photo", "target", "state", "post", "detected", "published", "secs", "reason"],
        [
            [
                r.asset_id,
                r.title[:28],
                r.target,
                r.state,
                r.remote_url or r.remote_id,
                _time(r.detected_at),
                _time(r.published_at),
                r.seconds_to_publish,
                r.reason,
            ]
            for r in rows
        ],
        empty="no photos" + (" needing attention" if failed else ""),
    )
    counts = photo_status.summary(rows)
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    state.show([r.as_json() for r in rows], table + (f"\n\n{summary}" if rows else ""))


# --- dead-letter queues -----------------------------------------------------------------------


@cli.group()
def dlq() -> None:
    """The dead-letter queues: list, show one, redrive one."""


def _queue(env: Environment, name: str) -> DeadLetterQueue:
    queues = {q.name: q for q in env.manifest.dead_letter_queues()}
    if name not in queues:
        raise click.BadParameter(
            f"{name!r} is not a DLQ of {env.name}; one of: {', '.join(queues)}", param_hint="QUEUE"
        )
    return queues[name]


@dlq.command("list")
@click.option("--peek", default=10, show_default=True, help="Messages read per non-empty DLQ for its reasons.")
@command_options
@pass_state
def dlq_list(state: State, peek: int) -> None:
    """Every DLQ: depth and the reasons of what is in it."""
    env = state.environment()
    sqs = env.client("sqs")
    deadline = state.deadline()  # one for the whole listing, not one per DLQ
    found: list[dict[str, Any]] = []
    queues = env.manifest.dead_letter_queues()
    for queue in queues:
        if deadline.expired():
            raise DeadlineReached(f"listing the DLQs ({len(found)} of {len(queues)} read)", deadline.remaining())
        depth = dead_letters.depth(sqs, queue.url)
        letters = dead_letters.peek(sqs, queue, peek, deadline) if depth.total and peek > 0 else []
        reasons = Counter((letter.code, letter.reason) for letter in letters)
        found.append(
            {
                "queue": queue.name,
                "url": queue.url,
                "redrivable": queue.source_url is not None,
                "messages": depth.visible,
                "in_flight": depth.in_flight,
                "reasons": [{"code": c, "reason": r, "count": n} for (c, r), n in reasons.most_common()],
            }
        )
    rows = [
        [
            q["queue"],
            q["messages"],
            q["in_flight"],
            "; ".join(f"{r['count']}x {r['code'] + ': ' if r['code'] else ''}{r['reason']}" for r in q["reasons"]),
        ]
        for q in found
    ]
    state.show(found, output.table(["queue", "messages", "in flight", "reasons"], rows, max_width=160))


@dlq.command("show")
@click.argument("queue")
@click.option("--limit", default=50, show_default=True, help="At most this many messages.")
@click.option("--body", is_flag=True, help="With each message's body and attributes (JSON) or body (table).")
@command_options
@pass_state
def dlq_show(state: State, queue: str, limit: int, body: bool) -> None:
    """The messages of one DLQ (left in place), with reasons and receive counts."""
    env = state.environment()
    deadline = state.deadline()
    letters = dead_letters.peek(env.client("sqs"), _queue(env, queue), limit, deadline)
    if deadline.expired() and len(letters) < limit:
        raise DeadlineReached(f"reading {queue} ({len(letters)} message(s) read)", deadline.remaining())
    rows = [
        [d.message_id[:8], d.asset_id, d.event_type, d.target, d.code, d.receive_count, _time(d.sent_at), d.reason]
        for d in letters
    ]
    text = output.table(
        ["message", "asset", "type", "target", "code", "receives", "sent", "reason"], rows, empty=f"{queue}: empty"
    )
    if body and letters:
        text += "\n" + "\n".join(f"\n{d.message_id}:\n{d.body}" for d in letters)
    if letters:
        output.note("(receive counts include every peek: SQS counts each read)")
    state.show([d.as_json(with_body=body) for d in letters], text)


@dlq.command("redrive")
@click.argument("queue")
@command_options
@pass_state
def dlq_redrive(state: State, queue: str) -> None:
    """Move a DLQ's messages back to its queue (SQS message move task); safe to run again.

    The task is followed until it ends or --timeout passes; then it goes on in SQS."""
    env = state.environment()
    dead = _queue(env, queue)
    result = dead_letters.redrive(
        env.client("sqs"),
        dead,
        deadline=state.deadline(),
        progress=lambda p: output.note(p.line() + ("" if p.started_here or p.done else " (a task already running)")),
    )
    state.show(
        {
            "queue": result.queue,
            "status": result.status,
            "moved": result.moved,
            "to_move": result.to_move,
            "failure_reason": result.failure_reason,
            "ok": result.ok,
        },
        result.line(),
    )
    if not result.done:
        output.note(timed_out(state, "the move task goes on in SQS: run the same command to follow it", longer=False))
    if not result.ok:
        raise SystemExit(1)


# --- parked photos ----------------------------------------------------------------------------


@cli.command()
@command_options
@pass_state
def parked(state: State) -> None:
    """Photos the poller stopped retrying (failing on every poll), with the reason."""
    from socialomega.poller import parking

    rows = parking.parked_photos(state.environment().store())
    columns = ("source", "asset_id", "version", "attempts", "parked_at", "reason")
    state.show(
        rows,
        output.table(
            list(columns), [[r.get(c) for c in columns] for r in rows], empty="no parked photos", max_width=160
        ),
    )


# --- replay -----------------------------------------------------------------------------------


@cli.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("arguments", nargs=-1, type=click.UNPROCESSED)
@command_options
@pass_state
def replay(state: State, arguments: tuple[str, ...]) -> None:
    """Re-send logged events: --from, --to, --type, --asset, --target, --dry-run (--help)."""
    from socialomega.core.aws import Clients
    from socialomega.replay import __main__ as replay_cli
    from socialomega.replay.replayer import Replayer

    args, selection = replay_cli.parse(replay_cli.parser("socialomega replay", with_env=False), list(arguments))
    env = state.environment()
    output.note(f"replaying from the event log of {env.describe()}" + (" (dry run)" if args.dry_run else ""))
    report = Replayer.build(env.manifest.settings(), Clients.default()).replay(selection, dry_run=args.dry_run)
    state.show(
        {
            "ok": report.ok,
            "dry_run": report.dry_run,
            "selected": dict(report.selected),
            "sent": dict(report.sent),
            "unreadable": [{"key": k, "reason": r} for k, r in report.unreadable],
            "error": report.error,
        },
        "\n".join(report.lines()),
    )
    if not report.ok:
        raise SystemExit(1)


# --- tokens -----------------------------------------------------------------------------------


@cli.group(invoke_without_command=True)
@click.option("--target", "targets", multiple=True, help="Only this target (repeatable; `tokens refresh` too).")
@click.option(
    "--expiring-days",
    type=float,
    help="Expiring within this many days: a warning (default 14). `tokens refresh` takes --within-days.",
)
@command_options
@click.pass_context
def tokens(ctx: click.Context, targets: tuple[str, ...], expiring_days: float | None) -> None:
    """Each target's credential health and expiry (`tokens refresh` renews where the platform allows)."""
    state = ctx.ensure_object(State)
    if ctx.invoked_subcommand is not None:
        if expiring_days is not None:
            raise click.UsageError(
                "--expiring-days is the check's window; `tokens refresh` takes its own: --within-days", ctx
            )
        state.token_targets = targets  # `tokens --target x refresh` refreshes x alone
        return
    from socialomega.tokens import check_tokens
    from socialomega.tokens.health import DEFAULT_WITHIN_DAYS

    with state.working() as deadline:
        env = state.environment()
        days = DEFAULT_WITHIN_DAYS if expiring_days is None else expiring_days
        found = check_tokens(env.configuration(), targets=list(targets) or None, expiring_days=days)
    rows = [
        [
            h.target,
            h.platform,
            h.status,
            h.expires_at.isoformat()[:16] if h.expires_at else None,
            None if h.days_left is None else round(h.days_left, 1),
            "yes" if h.refreshable else "no",
            h.detail,
        ]
        for h in found
    ]
    state.show(
        [h.as_dict() for h in found],
        output.table(
            ["target", "platform", "status", "expires", "days left", "refreshable", "detail"], rows, max_width=160
        ),
    )
    if deadline.expired() and any(h.status == "unknown" for h in found):
        output.note(timed_out(state, "the targets it did not reach show `unknown`"))
    if any(h.unhealthy for h in found):
        raise SystemExit(1)


@tokens.command("refresh")
@click.option("--target", "targets", multiple=True, help="Only this target (repeatable).")
@click.option("--within-days", default=14.0, show_default=True, help="Refresh tokens expiring within this many days.")
@click.option("--force", is_flag=True, help="Refresh every refreshable token, whatever its expiry.")
@command_options
@pass_state
def tokens_refresh(state: State, targets: tuple[str, ...], within_days: float, force: bool) -> None:
    """Refresh the tokens that are due, where the platform allows it; writes them to the secrets."""
    from socialomega.tokens import refresh_tokens

    env = state.environment()
    names = list(dict.fromkeys((*state.token_targets, *targets)))  # the group's --target and its own
    output.note(f"refreshing tokens of {env.describe()}")
    results = refresh_tokens(env.configuration(), within_days=within_days, targets=names or None, force=force)
    rows = [
        [
            r.target,
            r.platform,
            r.action,
            r.health.expires_at.isoformat()[:16] if r.health.expires_at else None,
            r.detail,
        ]
        for r in results
    ]
    state.show(
        [r.as_dict() for r in results],
        output.table(["target", "platform", "action", "expires", "detail"], rows, max_width=160),
    )
    if state.deadline().expired() and any(r.action == "failed" for r in results):
        output.note(timed_out(state, "the refreshes it did not finish show `failed`"))
    if any(r.failed for r in results):
        raise SystemExit(1)


# --- doctor -----------------------------------------------------------------------------------


@cli.command()
@command_options
@pass_state
def doctor(state: State) -> None:
    """The preflight checks against the running environment, and its health; exit 1 on a failure."""
    from socialomega.cli import health
    from socialomega.ops import preflight

    env = state.environment()
    output.note(f"checking {env.describe()} ...")
    checks = health.doctor(env)
    state.show([c.as_dict() for c in checks], preflight.render(checks, "doctor"))
    if preflight.failures(checks):
        raise SystemExit(1)


# --- analytics --------------------------------------------------------------------------------


def _day(_ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param=param) from None


@cli.command()
@click.option("--since", callback=_day, help="First day of publication, UTC (YYYY-MM-DD; default: --days ago).")
@click.option("--until", callback=_day, help="Last day of publication, UTC (YYYY-MM-DD; default: today).")
@click.option("--days", default=7, show_default=True, help="Without --since: this many days up to --until.")
@click.option("--target", "targets", multiple=True, help="Only this target (repeatable).")
@click.option("--asset", "asset_id", help="Only this photo (asset id).")
@click.option("--csv", "as_csv", is_flag=True, help="CSV (one row per post, every metric) instead of the table.")
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, writable=True),
    help="Also write the self-contained HTML report (charts, thumbnails) to this file.",
)
@command_options
@pass_state
def analytics(
    state: State,
    since: date | None,
    until: date | None,
    days: int,
    targets: tuple[str, ...],
    asset_id: str | None,
    as_csv: bool,
    html_file: str | None,
) -> None:
    """Each post's figures (likes, comments, shares, saves, reach, views), failures and totals."""
    from socialomega.analytics.report import build_report
    from socialomega.cli import analytics as view

    env = state.environment()
    names = [t.name for t in env.targets()]
    unknown = sorted(set(targets) - set(names))
    if unknown:
        raise click.BadParameter(f"not an enabled target: {', '.join(unknown)}; one of: {', '.join(names)}")
    last = until or datetime.now(UTC).date()
    first = since or last - timedelta(days=max(1, days) - 1)
    if first > last:
        raise click.BadParameter(f"--since {first} is after --until {last}")
    with state.working():
        report = build_report(
            env.store(), since=first, until=last, environment=env.name, targets=targets or None, asset_id=asset_id
        )
        if html_file:
            _write_html(env, report, html_file)
    if as_csv:
        output.emit(view.csv_text(report).rstrip("\n"), state.out)
    else:
        state.show(report, view.table(report))


def _write_html(env: Environment, report: dict[str, Any], path: str) -> None:
    from socialomega.cli import analytics as view

    output.note(f"reading {len({p['asset_id'] for p in report['posts']})} thumbnail(s) ...")
    view.write_html(report, view.object_reader(env.client("s3"), env.manifest.buckets["processed"]), path)
    output.note(f"HTML report written to {path}")


# --- schedule ---------------------------------------------------------------------------------


@cli.group(invoke_without_command=True)
@click.option("--target", help="Only this target.")
@command_options
@click.pass_context
def schedule(ctx: click.Context, target: str | None) -> None:
    """Posts waiting for their slot or their own time, earliest first; `cancel`, `now`, `move`."""
    if ctx.invoked_subcommand is not None:
        return
    from socialomega.scheduling import operations
    from socialomega.scheduling.clock import ScheduleClock

    state: State = ctx.ensure_object(State)
    env = state.environment()
    with state.working():
        rows = operations.waiting(env.store(), env.targets(), ScheduleClock.from_env(), target)
    table = output.table(
        ["when (UTC)", "target's time", "target", "photo", "asset", "why"],
        [[_time(r["at"]), _time(r["local"]), r["target"], r["title"][:28], r["asset_id"], r["why"]] for r in rows],
        empty="nothing scheduled",
    )
    state.show(rows, table)


def _asset_option[F: Callable[..., Any]](f: F) -> F:
    f = click.option("--target", help="Only on this target (default: every target it waits on).")(f)
    return click.argument("asset_id")(f)


@schedule.command("cancel")
@_asset_option
@command_options
@pass_state
def schedule_cancel(state: State, asset_id: str, target: str | None) -> None:
    """Cancel a photo's waiting posts: they never go out (its publication says `cancelled`)."""
    from socialomega.scheduling import operations
    from socialomega.scheduling.clock import ScheduleClock

    env = state.environment()
    with state.working():
        done = operations.cancel(env.store(), env.targets(), ScheduleClock.from_env(), asset_id, target)
    state.show({"cancelled": done}, f"cancelled on: {', '.join(done)}" if done else "nothing waiting for that photo")
    if not done:
        raise SystemExit(1)


@schedule.command("now")
@_asset_option
@command_options
@pass_state
def schedule_now(state: State, asset_id: str, target: str | None) -> None:
    """Release a photo's waiting posts at the next release run (within a minute)."""
    _move(state, asset_id, None, target)


@schedule.command("move")
@_asset_option
@click.option("--to", "to", required=True, help="The new time, ISO 8601 with an offset (2026-12-05T09:00+01:00).")
@command_options
@pass_state
def schedule_move(state: State, asset_id: str, target: str | None, to: str) -> None:
    """Move a photo's waiting posts to another time (its own: not one of the target's slots)."""
    try:
        when = datetime.fromisoformat(to)
    except ValueError:
        raise click.BadParameter(f"{to!r} is not an ISO 8601 time", param_hint="--to") from None
    if when.tzinfo is None:
        raise click.BadParameter(f"{to!r} has no offset (add +00:00 or Z for UTC)", param_hint="--to")
    _move(state, asset_id, when, target)


def _move(state: State, asset_id: str, when: datetime | None, target: str | None) -> None:
    from socialomega.scheduling import operations
    from socialomega.scheduling.clock import ScheduleClock

    env = state.environment()
    with state.working():
        moved = operations.move(env.store(), env.targets(), ScheduleClock.from_env(), asset_id, when, target)
    table = output.table(
        ["target", "new time (UTC)", "moved"], [[m["target"], _time(m["at"]), m["moved"]] for m in moved]
    )
    state.show(moved, table if moved else "nothing waiting for that photo")
    if not moved or any(m["moved"] != "yes" for m in moved):
        raise SystemExit(1)
