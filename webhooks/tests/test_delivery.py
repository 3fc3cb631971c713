"""Attempts against a real receiver on loopback: signatures the package's verifier accepts, the
payload, retries and backoff on a hand-moved clock, Retry-After, timeouts, giving up, pausing."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook as Verifier

from events.api.serializers import EventSerializer
from events.models import Event
from registry import services as registry_services
from webhooks import delivery, schedule, services
from webhooks.models import Delivery, DeliveryAttempt
from webhooks.tests.conftest import attempt_due
from webhooks.tests.receivers import Reply


def rename(workspace, alice, name="Vision 2"):
    registry_services.workspace_update(workspace=workspace, user=alice, name=name)
    return Event.objects.filter(kind="workspace.renamed").latest("id")


def test_a_delivery_is_signed_so_the_packages_verifier_accepts_it(hook, workspace, alice, receiver):
    event = rename(workspace, alice)
    assert attempt_due() == ["succeeded"]
    (request,) = receiver.requests
    payload = Verifier(hook.shown_secret).verify(request.body, request.headers)
    assert payload["type"] == "workspace.renamed"
    assert request.headers["webhook-id"] == f"evt_{event.pk}"
    assert abs(int(request.headers["webhook-timestamp"]) - timezone.now().timestamp()) < 10
    assert request.headers["content-type"] == "application/json"


def test_a_tampered_body_or_another_secret_does_not_verify(hook, workspace, alice, receiver):
    from standardwebhooks.webhooks import WebhookVerificationError

    rename(workspace, alice)
    attempt_due()
    (request,) = receiver.requests
    with pytest.raises(WebhookVerificationError):
        Verifier(hook.shown_secret).verify(request.body.replace(b"Vision", b"Visi0n"), request.headers)
    _, other = services.webhook_rotate_secret(webhook=hook, user=alice, keep_previous=False)
    with pytest.raises(WebhookVerificationError):
        Verifier(other).verify(request.body, request.headers)


def test_the_payload_is_the_event_as_the_events_api_shows_it_with_links(hook, workspace, alice, receiver):
    event = rename(workspace, alice)
    attempt_due()
    body = json.loads(receiver.requests[0].body)
    shown = json.loads(json.dumps(EventSerializer(event).data))
    links = body["data"].pop("links")
    assert body["data"] == shown
    assert body["timestamp"] == shown["time"]
    assert links["event"] == f"/api/v1/events/{event.pk}/"
    assert links["workspace"] == links["subject"] == f"/api/v1/workspaces/{workspace.pk}/"


def test_links_are_absolute_with_the_public_url(hook, workspace, alice, receiver, settings):
    settings.MAISIE_PUBLIC_URL = "https://maisie.example.com"
    event = rename(workspace, alice)
    attempt_due()
    links = json.loads(receiver.requests[0].body)["data"]["links"]
    assert links["event"] == f"https://maisie.example.com/api/v1/events/{event.pk}/"


def test_a_failed_attempt_is_retried_after_the_backoff_and_not_before(hook, workspace, alice, receiver):
    receiver.script(Reply(503, body=b"down for maintenance"), Reply(500))
    rename(workspace, alice)
    start = timezone.now()
    assert attempt_due(now=start) == ["retrying"]
    first = Delivery.objects.get()
    assert first.state == "pending" and first.attempts == 1
    wait = first.next_attempt_at - start
    assert timedelta(seconds=4) <= wait <= timedelta(seconds=6)  # 5 s +-20 %
    (log,) = first.attempt_log.all()
    assert (log.status_code, log.outcome, log.response_excerpt) == (503, "retrying", "down for maintenance")
    assert log.duration_ms is not None and log.next_attempt_at == first.next_attempt_at

    assert attempt_due(now=first.next_attempt_at - timedelta(seconds=1)) == ["not due"]
    assert len(receiver.requests) == 1

    assert attempt_due(now=first.next_attempt_at) == ["retrying"]
    second = Delivery.objects.get()
    wait = second.next_attempt_at - first.next_attempt_at
    assert timedelta(seconds=16) <= wait <= timedelta(seconds=24)  # 20 s +-20 %
    assert attempt_due(now=second.next_attempt_at) == ["succeeded"]
    done = Delivery.objects.get()
    assert done.state == "succeeded" and done.attempts == 3
    assert [a.outcome for a in done.attempt_log.all()] == ["retrying", "retrying", "succeeded"]
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1  # one message, three copies


def test_the_backoff_grows_to_about_a_day_then_the_delivery_fails_and_the_webhook_pauses(
    hook, workspace, alice, receiver
):
    receiver.default = Reply(502)
    rename(workspace, alice)
    now = timezone.now()
    start = now
    for _ in range(schedule.MAX_ATTEMPTS):
        attempt_due(now=now)
        now = Delivery.objects.get().next_attempt_at
    failed = Delivery.objects.get()
    assert failed.state == "failed" and failed.attempts == schedule.MAX_ATTEMPTS
    assert len(receiver.requests) == schedule.MAX_ATTEMPTS
    last_try = failed.attempt_log.order_by("-number").first().started_at
    assert timedelta(hours=18) < last_try - start < timedelta(hours=30)
    hook.refresh_from_db()
    assert not hook.active
    assert "failed 10 times over about a day" in hook.paused_reason and "HTTP 502" in hook.paused_reason
    paused = Event.objects.filter(kind="webhook.paused").get()
    assert paused.actor_id is None and paused.after["reason"] == hook.paused_reason


def test_retry_after_is_honoured_when_it_asks_for_longer(hook, workspace, alice, receiver):
    receiver.script(Reply(429, headers={"Retry-After": "120"}))
    rename(workspace, alice)
    now = timezone.now()
    attempt_due(now=now)
    wait = Delivery.objects.get().next_attempt_at - now
    assert timedelta(seconds=120) <= wait < timedelta(seconds=121)


def test_a_receiver_that_does_not_answer_in_time_is_a_retried_failure(hook, workspace, alice, receiver, settings):
    settings.MAISIE_WEBHOOK_TIMEOUT = 1
    receiver.script(Reply(delay=3))
    rename(workspace, alice)
    assert attempt_due() == ["retrying"]
    log = DeliveryAttempt.objects.get()
    assert log.status_code is None and log.error == "No answer within 1 s."


def test_a_refused_connection_is_a_retried_failure(hook, workspace, alice):
    from maisie_site.live_servers import free_port

    services.webhook_update(webhook=hook, user=alice, url=f"http://127.0.0.1:{free_port()}/hook")  # no one there
    rename(workspace, alice)
    assert attempt_due() == ["retrying"]
    assert "Could not connect" in DeliveryAttempt.objects.get().error


def test_a_client_error_is_final_and_five_in_a_row_pause_the_webhook(hook, workspace, alice, receiver):
    receiver.default = Reply(410, body=b"gone")
    for number in range(schedule.PAUSE_AFTER_FAILURES):
        rename(workspace, alice, name=f"Vision {number}")
        assert attempt_due() == ["failed"]
    hook.refresh_from_db()
    assert not hook.active and hook.consecutive_failures == schedule.PAUSE_AFTER_FAILURES
    assert "5 deliveries in a row failed for good" in hook.paused_reason and "HTTP 410" in hook.paused_reason
    rename(workspace, alice, name="while paused")
    assert Delivery.objects.count() == schedule.PAUSE_AFTER_FAILURES  # a paused webhook queues nothing


def test_a_success_resets_the_count_of_failures(hook, workspace, alice, receiver):
    receiver.script(Reply(400), Reply(400))
    for number in range(3):
        rename(workspace, alice, name=f"Vision {number}")
        attempt_due()
    hook.refresh_from_db()
    assert hook.active and hook.consecutive_failures == 0 and hook.last_success_at is not None


def test_a_redirect_is_not_followed(hook, workspace, alice, receiver):
    from webhooks.tests.receivers import Receiver

    with Receiver() as elsewhere:
        receiver.script(Reply(302, headers={"Location": elsewhere.url}))
        rename(workspace, alice)
        assert attempt_due() == ["failed"]
        assert elsewhere.requests == []
    log = DeliveryAttempt.objects.get()
    assert log.status_code == 302 and "Redirects are not followed" in log.error


def test_a_paused_webhooks_pending_deliveries_wait_and_go_when_it_resumes(hook, workspace, alice, receiver):
    rename(workspace, alice)
    services.webhook_pause(webhook=hook, user=alice)
    assert attempt_due() == ["webhook paused"]
    assert receiver.requests == []
    services.webhook_resume(webhook=hook, user=alice)
    assert attempt_due() == ["succeeded"]
    assert len(receiver.requests) == 1


def test_at_its_in_flight_bound_a_target_waits_without_using_an_attempt(hook, workspace, alice, settings):
    settings.MAISIE_WEBHOOK_MAX_IN_FLIGHT = 1
    rename(workspace, alice, name="one")
    rename(workspace, alice, name="two")
    first, second = Delivery.objects.order_by("pk")
    now = timezone.now()
    assert isinstance(delivery._claim(first.pk, now), delivery.Claimed)  # in flight, just started
    assert delivery.attempt(second.pk, now=now) == "put off: its target is at its in-flight bound"
    second.refresh_from_db()
    assert second.state == "pending" and second.attempts == 0
    # A quick target frees its place soon: a short wait.
    assert timedelta(seconds=0.02) <= second.next_attempt_at - now <= timedelta(seconds=0.08)
    # One whose attempt has run for 4 s is slow: wait about that long.
    later = now + timedelta(seconds=4)
    assert delivery.attempt(second.pk, now=later) == "put off: its target is at its in-flight bound"
    second.refresh_from_db()
    assert timedelta(seconds=2) <= second.next_attempt_at - later <= timedelta(seconds=6)


def test_behind_a_slow_target_a_delivery_waits_for_its_turn(hook, workspace, alice, settings):
    settings.MAISIE_WEBHOOK_MAX_IN_FLIGHT = 1
    for name in "abcde":
        rename(workspace, alice, name=name)
    first, *_, last = Delivery.objects.order_by("pk")
    now = timezone.now()
    delivery._claim(first.pk, now)
    later = now + timedelta(seconds=4)  # the attempt in flight has run 4 s
    assert delivery.attempt(last.pk, now=later) == "put off: its target is at its in-flight bound"
    last.refresh_from_db()
    # 3 due before it, one place: about 4 rounds of 4 s.
    assert timedelta(seconds=8) <= last.next_attempt_at - later <= timedelta(seconds=24)


def test_an_attempt_whose_worker_died_is_logged_as_interrupted_and_made_again(hook, workspace, alice, receiver):
    rename(workspace, alice)
    (pending,) = Delivery.objects.all()
    now = timezone.now()
    assert isinstance(delivery._claim(pending.pk, now), delivery.Claimed)  # ...and the worker dies here
    assert delivery.recover(now=now) == 0  # its claim still holds
    later = now + delivery.lease() + timedelta(seconds=1)
    assert delivery.recover(now=later) == 1
    assert attempt_due(now=later) == ["succeeded"]
    done = Delivery.objects.get()
    assert [(a.number, a.outcome) for a in done.attempt_log.all()] == [(1, "interrupted"), (2, "succeeded")]


def test_a_late_answer_after_the_claim_ran_out_changes_nothing_but_its_log(hook, workspace, alice):
    rename(workspace, alice)
    (pending,) = Delivery.objects.all()
    now = timezone.now()
    claimed = delivery._claim(pending.pk, now)
    delivery.recover(now=now + delivery.lease() + timedelta(seconds=1))
    assert delivery._settle(claimed, delivery.Result(status=200, duration_ms=12), "w", None) == (
        "answered after its claim ran out"
    )
    again = Delivery.objects.get()
    assert again.state == "pending"
    log = again.attempt_log.get()
    assert log.outcome == "interrupted" and log.status_code == 200


def test_a_pending_delivery_whose_task_is_gone_gets_a_new_one(hook, workspace, alice):
    from django_tasks_db.models import DBTaskResult

    rename(workspace, alice)
    (pending,) = Delivery.objects.all()
    DBTaskResult.objects.filter(id=pending.task_id).update(status="FAILED")
    assert delivery.recover() == 0  # not late enough to be an orphan yet
    assert delivery.recover(now=timezone.now() + delivery.ORPHAN_GRACE + timedelta(seconds=1)) == 1
    pending.refresh_from_db()
    assert DBTaskResult.objects.get(id=pending.task_id).status == "READY"


def test_an_alias_events_links_name_the_alias_and_its_version(hook, workspace, project, alice, receiver):
    from registry.models import RegisteredModel
    from registry.tests.factories import upload

    upload(alice, project, name="resnet50")
    registered = RegisteredModel.objects.get(name="resnet50")
    registry_services.alias_set(registered_model=registered, name="production", version=1, user=alice)
    attempt_due()
    body = json.loads(receiver.requests[-1].body)
    assert body["type"] == "alias.set"
    links = body["data"]["links"]
    assert links["subject"] == f"/api/v1/registered-models/{registered.pk}/aliases/production/"
    assert links["model"] == f"/api/v1/models/{registered.versions.get().pk}/"


def test_at_a_quick_targets_bound_a_worker_waits_briefly_then_puts_off(hook, workspace, alice, settings):
    import time

    settings.MAISIE_WEBHOOK_MAX_IN_FLIGHT = 1
    rename(workspace, alice, name="one")
    rename(workspace, alice, name="two")
    first, second = Delivery.objects.order_by("pk")
    delivery._claim(first.pk, timezone.now())  # in flight, and stays so
    began = time.monotonic()
    assert delivery.attempt(second.pk) == "put off: its target is at its in-flight bound"
    assert 0.3 < time.monotonic() - began < 3  # it asked again for about 0.6 s first
    second.refresh_from_db()
    assert second.attempts == 0


@pytest.mark.django_db(transaction=True)
def test_at_a_quick_targets_bound_a_worker_takes_the_place_that_frees(alice, workspace, receiver, settings):
    import threading

    from django.db import connections

    settings.MAISIE_WEBHOOK_MAX_IN_FLIGHT = 1
    services.webhook_create(user=alice, workspace=workspace, url=receiver.url, kinds=["workspace.*"])
    rename(workspace, alice, name="one")
    rename(workspace, alice, name="two")
    first, second = Delivery.objects.order_by("pk")
    claimed = delivery._claim(first.pk, timezone.now())

    def finish_first():
        try:
            delivery._settle(claimed, delivery.Result(status=200, duration_ms=5), "elsewhere", None)
        finally:
            connections.close_all()

    threading.Timer(0.1, finish_first).start()
    assert delivery.attempt(second.pk) == "succeeded"  # waited for the place, no put-off
    second.refresh_from_db()
    assert second.attempts == 1 and second.state == "succeeded"
