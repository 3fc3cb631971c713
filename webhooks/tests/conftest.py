"""Webhook fixtures: a real receiver on loopback, and a webhook of Alice's workspace pointing at it.

Loopback is a private address: the tests allow private targets (MAISIE_WEBHOOK_ALLOW_PRIVATE),
except those about refusing them, which turn it off."""

import pytest

from webhooks import delivery, services
from webhooks.models import Delivery
from webhooks.tests.receivers import Receiver


@pytest.fixture(autouse=True)
def _private_targets_allowed(settings):
    settings.MAISIE_WEBHOOK_ALLOW_PRIVATE = True
    settings.MAISIE_WEBHOOK_TIMEOUT = 5


@pytest.fixture
def receiver():
    with Receiver() as live:
        yield live


@pytest.fixture
def hook(workspace, alice, receiver):
    """Alice's webhook of every event of her workspace, and its secret."""
    webhook, secret = services.webhook_create(user=alice, workspace=workspace, url=receiver.url, kinds=["*"])
    webhook.shown_secret = secret
    return webhook


def attempt_due(now=None) -> list[str]:
    """Make every due attempt, in-process, as a worker's task would: what each returned."""
    pending = Delivery.objects.filter(state=Delivery.State.PENDING).order_by("pk").values_list("pk", flat=True)
    return [delivery.attempt(pk, now=now) for pk in list(pending)]
