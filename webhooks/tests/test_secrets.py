"""Signing secrets are stored so that a dump of the database alone does not give them: encrypted
under a key derived from SECRET_KEY (SECRET_KEY_FALLBACKS still decrypt), never in events or logs."""

import json
import logging

import pytest

from events.models import Event
from registry import services as registry_services
from webhooks import secrets, services
from webhooks.models import Webhook
from webhooks.tests.conftest import attempt_due


def test_a_secret_is_stored_encrypted_and_decrypts_with_the_secret_key(hook):
    stored = Webhook.objects.get(pk=hook.pk).secret_encrypted
    assert hook.shown_secret.startswith("whsec_") and hook.shown_secret not in stored
    assert hook.shown_secret.removeprefix("whsec_") not in stored
    assert secrets.decrypt(stored) == hook.shown_secret


def test_the_stored_secret_is_useless_without_the_secret_key(hook, settings):
    stored = Webhook.objects.get(pk=hook.pk).secret_encrypted
    settings.SECRET_KEY = "another-server's-key"
    with pytest.raises(secrets.SecretUnreadable):
        secrets.decrypt(stored)


def test_a_rotated_secret_key_still_decrypts_through_the_fallbacks(hook, settings):
    stored = Webhook.objects.get(pk=hook.pk).secret_encrypted
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "the-new-key"
    assert secrets.decrypt(stored) == hook.shown_secret


def test_an_unreadable_secret_fails_the_delivery_saying_why(hook, workspace, alice, settings, receiver):
    registry_services.workspace_update(workspace=workspace, user=alice, description="new")
    settings.SECRET_KEY = "another-server's-key"
    assert attempt_due() == ["failed"]
    assert receiver.requests == []
    assert "does not decrypt" in hook.deliveries.get().last_error


def test_secrets_appear_in_no_event_and_no_log(hook, workspace, alice, receiver, caplog):
    caplog.set_level(logging.DEBUG)
    _, rotated = services.webhook_rotate_secret(webhook=hook, user=alice)
    registry_services.workspace_update(workspace=workspace, user=alice, description="new")
    attempt_due()
    stored = json.dumps(list(Event.objects.values("before", "after")), default=str)
    for secret in (hook.shown_secret, rotated):
        assert secret not in stored and secret not in caplog.text
        assert secret.removeprefix("whsec_") not in stored


def test_during_a_rotations_overlap_both_secrets_sign(hook, workspace, alice, receiver):
    from standardwebhooks import Webhook as Verifier

    _, new = services.webhook_rotate_secret(webhook=hook, user=alice)
    registry_services.workspace_update(workspace=workspace, user=alice, description="new")
    attempt_due()
    (request,) = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (hook.shown_secret, new):
        Verifier(secret).verify(request.body, request.headers)


def test_a_rotation_that_drops_the_previous_secret_signs_with_the_new_one_only(hook, workspace, alice, receiver):
    from standardwebhooks import Webhook as Verifier
    from standardwebhooks.webhooks import WebhookVerificationError

    _, new = services.webhook_rotate_secret(webhook=hook, user=alice, keep_previous=False)
    registry_services.workspace_update(workspace=workspace, user=alice, description="new")
    attempt_due()
    (request,) = receiver.requests
    Verifier(new).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Verifier(hook.shown_secret).verify(request.body, request.headers)
