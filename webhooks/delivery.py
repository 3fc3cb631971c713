"""Attempts: claim a due delivery, send it, settle what happened; and take back lost attempts.

Three short transactions per attempt, none held while the request is in flight:
1. claim: lock the rows of every webhook that shares the delivery's target (scheme, host and
   port), then the delivery's; if it is pending, due and its webhook active, and the target has
   fewer than MAISIE_WEBHOOK_MAX_IN_FLIGHT attempts in flight, mark it `delivering` with the next
   attempt number, a fresh claim token and a lease (the attempt's time budget plus a margin).
   At the bound the thread waits briefly for a quick target, and otherwise puts the delivery off
   until about when a place is likely to be free for it, which is not an attempt: a slow target
   holds at most that many worker threads, and every other target's deliveries go on.
2. send (webhooks/targets.py), with the time budget.
3. settle: under the delivery's lock (and its webhook's, first, after a failure), if the claim
   token is still the delivery's, log the attempt and move the delivery on: succeeded; pending
   again with its next time and a task queued for it (webhooks/schedule.py); or failed. A failed
   delivery counts against its webhook, which is paused after PAUSE_AFTER_FAILURES of them in a
   row, or at once when one ran out of retries.

The claim is a conditional change of one row under its lock, so of any number of workers (or
tasks) that reach the same delivery, one makes each attempt number, and the log's unique
(delivery, number) holds it in the database too. A worker that dies mid-attempt leaves the
delivery `delivering` until its lease runs out; `recover()`, run by every worker at start and
then every few seconds, logs that attempt as interrupted and queues the delivery again: at least
once, with the same `webhook-id` for the receiver to drop a duplicate.

PostgreSQL: the row locks are SELECT ... FOR UPDATE, and the task rows are claimed with SKIP
LOCKED by django-tasks' worker. SQLite has no row locks: its write transactions (IMMEDIATE, see
settings.py) run one at a time over the whole database, which gives the same exclusion for
workers on one machine (the only machine a SQLite file can serve).
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, Max, OuterRef, Q
from django.utils import timezone

from webhooks import payloads, schedule, secrets, targets
from webhooks.models import Delivery, DeliveryAttempt, Webhook
from webhooks.tasks import enqueue_delivery

logger = logging.getLogger(__name__)

LEASE_MARGIN = timedelta(seconds=30)  # beyond the attempt's own budget: the database writes around it
ORPHAN_GRACE = timedelta(minutes=2)  # a pending delivery this late with no live task gets a new one
RECOVER_BATCH = 500
SUCCESS_PRECISION = timedelta(minutes=1)
# How long a delivery to a target at its in-flight bound waits (see _claim), at least and at most.
SHORTEST_WAIT = 0.05
LONGEST_WAIT = 300.0
# At a quick target's bound (its youngest attempt began under QUICK s ago), a worker thread asks
# again after these pauses (about 0.6 s in all) before it puts the delivery off (see attempt()).
QUICK = 0.5
_PAUSES = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32)


def lease() -> timedelta:
    return timedelta(seconds=settings.MAISIE_WEBHOOK_TIMEOUT) + LEASE_MARGIN


@dataclass(frozen=True)
class Claimed:
    delivery: Delivery
    number: int
    token: uuid.UUID
    started: datetime


@dataclass(frozen=True)
class Result:
    status: int | None = None
    error: str = ""
    excerpt: str = ""
    duration_ms: int | None = None
    retry_after: float | None = None
    final: bool = False  # refused by policy: no retry would change it

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class Busy:
    """The target is at its in-flight bound; its youngest attempt has run this long."""

    running: float


def attempt(delivery_id: int, *, worker_id: str = "", now: datetime | None = None) -> str:
    """Make delivery `delivery_id`'s next attempt if it is due (at `now`, the clock by default)
    and no one else is making it. Returns what happened, for the task's result.

    At a quick target's in-flight bound (its youngest attempt began under QUICK seconds ago) the
    worker thread waits a little for a place, asking again after 10, 20, 40... ms: places there
    free within milliseconds, and a put-off costs a task and a queue round. Behind a slow one, or
    after PATIENCE, the delivery is put off (_claim). A hand-moved clock (`now`) never waits."""
    pauses = iter(_PAUSES if now is None else ())
    while True:
        claimed = _claim(delivery_id, now or timezone.now(), put_off=False)
        pause = next(pauses, None) if isinstance(claimed, Busy) and claimed.running < QUICK else None
        if pause is None:
            break
        time.sleep(pause * random.uniform(0.5, 1.5))
    if isinstance(claimed, Busy):
        claimed = _claim(delivery_id, now or timezone.now(), put_off=True)
    if isinstance(claimed, str):
        return claimed
    result = _send(claimed.delivery)
    return _settle(claimed, result, worker_id, now)


def _lock_target(target: str) -> None:
    """Every webhook of the target, in id order (so two claims never wait on each other in a circle)."""
    list(Webhook.objects.select_for_update().filter(target=target).order_by("pk").values_list("pk", flat=True))


def _busy(target: str, now: datetime) -> Busy | None:
    """Busy when the target has MAISIE_WEBHOOK_MAX_IN_FLIGHT attempts in flight, else None."""
    in_flight = Delivery.objects.filter(
        state=Delivery.State.DELIVERING, lease_until__gt=now, webhook__target=target
    ).aggregate(count=Count("pk"), latest=Max("lease_until"))
    if in_flight["count"] < settings.MAISIE_WEBHOOK_MAX_IN_FLIGHT:
        return None
    running = (now - (in_flight["latest"] - lease())).total_seconds()
    return Busy(min(settings.MAISIE_WEBHOOK_TIMEOUT, running))


def _claim(delivery_id: int, now: datetime, put_off: bool = True) -> Claimed | Busy | str:
    target = Webhook.objects.filter(deliveries__pk=delivery_id).values_list("target", flat=True).first()
    if target is None:
        return "gone"
    if not put_off:
        # A first look outside the transaction: threads waiting for a place at a busy target do
        # not queue on its lock (nor, on SQLite, the database's), where the attempts that would
        # free places settle.
        busy = _busy(target, now)
        if busy is not None:
            return busy
    return _claim_locked(delivery_id, target, now, put_off)


@transaction.atomic
def _claim_locked(delivery_id: int, target: str, now: datetime, put_off: bool) -> Claimed | Busy | str:
    _lock_target(target)
    delivery = Delivery.objects.select_for_update().select_related("webhook").filter(pk=delivery_id).first()
    if delivery is None:
        return "gone"
    if delivery.state != Delivery.State.PENDING:
        return f"not pending ({delivery.state})"
    if delivery.next_attempt_at > now:
        return "not due"
    if not delivery.webhook.active:
        return "webhook paused"  # stays pending; webhook_resume() queues it again
    busy = _busy(target, now)
    if busy is not None:
        if not put_off:
            return busy
        bound = settings.MAISIE_WEBHOOK_MAX_IN_FLIGHT
        # Until about when a place is likely to be free for it: the youngest attempt's time so far
        # (a hanging target's attempts time out) for each round of `bound` deliveries due before
        # it. So a long queue behind a slow target waits its turn instead of asking again and again.
        ahead = Delivery.objects.filter(
            state=Delivery.State.PENDING, webhook__target=target, next_attempt_at__lt=delivery.next_attempt_at
        ).count()
        wait = max(SHORTEST_WAIT, busy.running) * (1 + ahead // bound) * random.uniform(0.5, 1.5)
        delivery.next_attempt_at = now + timedelta(seconds=min(LONGEST_WAIT, wait))
        delivery.task_id = enqueue_delivery(delivery.pk, run_after=delivery.next_attempt_at)
        delivery.save(update_fields=["next_attempt_at", "task_id"])
        return "put off: its target is at its in-flight bound"
    delivery.state = Delivery.State.DELIVERING
    delivery.attempts += 1
    delivery.claim = uuid.uuid4()
    delivery.lease_until = now + lease()
    delivery.save(update_fields=["state", "attempts", "claim", "lease_until"])
    return Claimed(delivery, delivery.attempts, delivery.claim, now)


def _send(delivery: Delivery) -> Result:
    webhook = delivery.webhook
    try:
        body = payloads.body(delivery)
        sent_at = timezone.now()
        tokens = [webhook.secret_encrypted]
        if (
            webhook.previous_secret_encrypted
            and webhook.previous_secret_until
            and webhook.previous_secret_until > sent_at
        ):
            tokens.append(webhook.previous_secret_encrypted)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Maisie-Webhooks/1",
            "webhook-id": delivery.message_id,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": secrets.signature(tokens, delivery.message_id, sent_at, body),
        }
        answer = targets.post(webhook.url, body, headers, timeout=settings.MAISIE_WEBHOOK_TIMEOUT)
    except (targets.Refused, secrets.SecretUnreadable) as error:
        return Result(error=str(error)[:500], final=True)
    except targets.SendError as error:
        return Result(error=str(error)[:500])
    except Exception as error:  # a bug must not leave the delivery claimed until its lease runs out
        logger.exception("webhook delivery %s: unexpected error while sending", delivery.pk)
        return Result(error=f"Internal error while sending ({type(error).__name__}); it is tried again.")
    error = ""
    if 300 <= answer.status < 400:
        error = "Redirects are not followed: point the webhook at the final URL."
    return Result(
        status=answer.status,
        error=error,
        excerpt=answer.excerpt,
        duration_ms=answer.duration_ms,
        retry_after=answer.retry_after,
    )


def _settle(claimed: Claimed, result: Result, worker_id: str, now: datetime | None) -> str:
    now = now or timezone.now()
    if not result.succeeded:
        return _settle_failure(claimed, result, worker_id, now)
    outcome = _settle_success(claimed, result, worker_id, now)
    if outcome == DeliveryAttempt.Outcome.SUCCEEDED:
        # After the delivery's transaction, without its webhook's lock, which claims of its target
        # hold; and at most once a minute for a busy webhook ("last success" to the minute).
        Webhook.objects.filter(pk=claimed.delivery.webhook_id).filter(
            Q(consecutive_failures__gt=0)
            | Q(last_success_at__isnull=True)
            | Q(last_success_at__lt=now - SUCCESS_PRECISION)
        ).update(consecutive_failures=0, last_success_at=now)
    return outcome


@transaction.atomic
def _settle_success(claimed: Claimed, result: Result, worker_id: str, now: datetime) -> str:
    delivery = Delivery.objects.select_for_update().get(pk=claimed.delivery.pk)
    log = _closed(delivery, claimed, result, worker_id)
    if log is None:
        return "answered after its claim ran out"
    log.outcome = DeliveryAttempt.Outcome.SUCCEEDED
    delivery.state = Delivery.State.SUCCEEDED
    delivery.finished_at = now
    log.save()
    delivery.save()
    return str(log.outcome)


@transaction.atomic
def _settle_failure(claimed: Claimed, result: Result, worker_id: str, now: datetime) -> str:
    # The webhook first, as claims lock it: its failures are counted and it may be paused.
    webhook = Webhook.objects.select_for_update().get(pk=claimed.delivery.webhook_id)
    delivery = Delivery.objects.select_for_update().get(pk=claimed.delivery.pk)
    log = _closed(delivery, claimed, result, worker_id)
    if log is None:
        return "answered after its claim ran out"
    if not result.final and schedule.retryable(result.status) and claimed.number < schedule.MAX_ATTEMPTS:
        log.outcome = DeliveryAttempt.Outcome.RETRYING
        log.next_attempt_at = delivery.next_attempt_at = now + schedule.delay(claimed.number, result.retry_after)
        delivery.state = Delivery.State.PENDING
        delivery.task_id = enqueue_delivery(delivery.pk, run_after=delivery.next_attempt_at)
        webhook.last_failure_at = now
        webhook.save(update_fields=["last_failure_at"])
    else:
        log.outcome = DeliveryAttempt.Outcome.FAILED
        delivery.state = Delivery.State.FAILED
        delivery.finished_at = now
        _count_failure(webhook, delivery, now, out_of_retries=claimed.number >= schedule.MAX_ATTEMPTS)
    log.save()
    delivery.save()
    return str(log.outcome)


def _closed(delivery: Delivery, claimed: Claimed, result: Result, worker_id: str) -> DeliveryAttempt | None:
    """The attempt's log row (unsaved) with the delivery's claim released; None when the claim is
    no longer this attempt's: its lease ran out and recover() took it back (and logged the attempt
    as interrupted). Then what the receiver answered goes into that row, and nothing else changes."""
    if delivery.claim != claimed.token:
        DeliveryAttempt.objects.filter(delivery=delivery, number=claimed.number).update(
            status_code=result.status,
            duration_ms=result.duration_ms,
            response_excerpt=result.excerpt,
            error=f"Answered after its claim ran out. {result.error}".strip()[:500],
        )
        return None
    delivery.claim = None
    delivery.lease_until = None
    delivery.last_status_code = result.status
    delivery.last_error = result.error
    return DeliveryAttempt(
        delivery=delivery,
        number=claimed.number,
        started_at=claimed.started,
        duration_ms=result.duration_ms,
        status_code=result.status,
        error=result.error,
        response_excerpt=result.excerpt,
        worker_id=worker_id[:64],
    )


def _count_failure(webhook: Webhook, delivery: Delivery, now: datetime, out_of_retries: bool) -> None:
    webhook.consecutive_failures += 1
    webhook.last_failure_at = now
    webhook.save(update_fields=["consecutive_failures", "last_failure_at"])
    last = f"HTTP {delivery.last_status_code}" if delivery.last_status_code else delivery.last_error
    if webhook.active and out_of_retries:
        reason = (
            f"Delivery {delivery.pk} ({delivery.kind}) failed {delivery.attempts} times over about a day "
            f"(last: {last}). Deliveries are held until the webhook is resumed."
        )
    elif webhook.active and webhook.consecutive_failures >= schedule.PAUSE_AFTER_FAILURES:
        reason = (
            f"{webhook.consecutive_failures} deliveries in a row failed for good (last: delivery "
            f"{delivery.pk}, {last}). Deliveries are held until the webhook is resumed."
        )
    else:
        return
    from webhooks import services

    services.webhook_pause(webhook=webhook, user=None, reason=reason, now=now)


def recover(now: datetime | None = None) -> int:
    """Take back attempts whose worker stopped (their lease ran out) and give a task to pending
    deliveries that have none alive. Returns how many deliveries were queued again."""
    now = now or timezone.now()
    return _recover_interrupted(now) + _recover_orphans(now)


@transaction.atomic
def _recover_interrupted(now: datetime) -> int:
    from django_tasks_db.models import DBTaskResult

    stale = list(
        Delivery.objects.select_for_update(skip_locked=True)
        .filter(state=Delivery.State.DELIVERING, lease_until__lt=now)
        .order_by("lease_until")[:RECOVER_BATCH]
    )
    for delivery in stale:
        DeliveryAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            started_at=delivery.lease_until - lease(),
            outcome=DeliveryAttempt.Outcome.INTERRUPTED,
            error="The worker stopped during this attempt (its claim ran out); the delivery is queued again.",
        )
        # The task that was running it will never finish: say so in its row.
        DBTaskResult.objects.filter(id=delivery.task_id, status="RUNNING").update(
            status="FAILED",
            finished_at=now,
            exception_class_path="webhooks.delivery.WorkerLost",
            traceback="The worker stopped during this task; webhooks.delivery.recover() queued the delivery again.",
        )
        delivery.claim = None
        delivery.lease_until = None
        delivery.state = Delivery.State.PENDING
        delivery.next_attempt_at = now
        delivery.task_id = enqueue_delivery(delivery.pk)
        delivery.save(update_fields=["claim", "lease_until", "state", "next_attempt_at", "task_id"])
    return len(stale)


@transaction.atomic
def _recover_orphans(now: datetime) -> int:
    from django_tasks_db.models import DBTaskResult

    alive = DBTaskResult.objects.filter(id=OuterRef("task_id")).filter(
        Q(status="READY") | Q(status="RUNNING", started_at__gt=now - lease())
    )
    orphans = list(
        Delivery.objects.select_for_update(skip_locked=True)
        .filter(state=Delivery.State.PENDING, webhook__active=True, next_attempt_at__lt=now - ORPHAN_GRACE)
        .filter(~Exists(alive))
        .order_by("next_attempt_at")[:RECOVER_BATCH]
    )
    for delivery in orphans:
        delivery.task_id = enqueue_delivery(delivery.pk)
        delivery.save(update_fields=["task_id"])
    return len(orphans)
