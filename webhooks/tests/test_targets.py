"""SSRF: target URLs that would reach loopback, the private network or a metadata service are
refused when saved and, after DNS resolution, at every connection; https only; no redirects
(test_delivery.py). Private targets and http are allowed only by MAISIE_WEBHOOK_ALLOW_PRIVATE."""

import socket

import pytest
from django.core.exceptions import ValidationError

from registry import services as registry_services
from webhooks import services, targets
from webhooks.models import DeliveryAttempt
from webhooks.tests.conftest import attempt_due


@pytest.fixture
def private_refused(settings):
    settings.MAISIE_WEBHOOK_ALLOW_PRIVATE = False


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "a loopback address"),
        ("127.8.9.10", "a loopback address"),
        ("::1", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("169.254.169.254", "a link-local address (where cloud metadata services answer)"),
        ("fe80::1", "a link-local address (where cloud metadata services answer)"),
        ("fd00:ec2::254", "a private address"),  # AWS's IPv6 metadata service
        ("100.100.100.200", "not a public address"),  # Alibaba's metadata, in the shared range
        ("0.0.0.0", "an unspecified address"),
        ("::ffff:127.0.0.1", "a loopback address"),  # IPv4-mapped: judged as the IPv4 address
        ("::ffff:10.0.0.1", "a private address"),
        ("224.0.0.1", "a multicast address"),
        ("240.0.0.1", "a private address"),
    ],
)
def test_non_public_addresses_are_refused(private_refused, address, why):
    assert targets.refusal(address) == why


@pytest.mark.parametrize("address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_taken(private_refused, address):
    assert targets.refusal(address) is None


def test_the_setting_allows_private_addresses():
    assert targets.refusal("127.0.0.1") is None and targets.refusal("169.254.169.254") is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.example.com/x", "Only https URLs are allowed"),
        ("ftp://hooks.example.com/x", "must start with https://"),
        ("https://user:pw@hooks.example.com/x", "user name or password"),
        ("https://hooks.example.com/x#part", "#fragment"),
        ("https:///nohost", "no host"),
        ("https://hooks.example.com:99999/", "Not a URL"),
        ("https://hooks.example.com/a b", "spaces or control characters"),
        ("", "Give the URL"),
        ("https://127.0.0.1/hook", "Refused: 127.0.0.1 is a loopback address"),
        ("https://[::1]:8443/hook", "Refused: ::1 is a loopback address"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://localhost:8443/hook", "Refused: localhost resolves to"),
    ],
)
def test_bad_or_private_urls_are_refused_when_saved(private_refused, url, message):
    with pytest.raises(ValidationError) as refused:
        targets.validate(url)
    assert message in refused.value.message_dict["url"][0]


def test_a_name_that_does_not_resolve_yet_is_taken_when_saved(private_refused):
    assert targets.validate("https://no-such-host.invalid/hook").name == "https://no-such-host.invalid:443"


def test_a_url_saved_through_the_service_is_refused_with_a_400_message(private_refused, workspace, alice):
    with pytest.raises(ValidationError) as refused:
        services.webhook_create(user=alice, workspace=workspace, url="https://10.0.0.5/hook", kinds=["*"])
    assert refused.value.message_dict == {
        "url": ["Refused: 10.0.0.5 is a private address (MAISIE_WEBHOOK_ALLOW_PRIVATE is off)."]
    }


def test_a_name_resolving_to_loopback_is_refused_at_connect_time_and_nothing_connects(workspace, alice, settings):
    """Saved while private targets were allowed (or while the name resolved elsewhere): the
    attempt resolves it again, finds 127.0.0.1 and never opens a connection."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        services.webhook_create(
            user=alice, workspace=workspace, url=f"https://localhost:{port}/hook", kinds=["workspace.*"]
        )
        settings.MAISIE_WEBHOOK_ALLOW_PRIVATE = False
        registry_services.workspace_update(workspace=workspace, user=alice, description="changed")
        assert attempt_due() == ["failed"]
        with pytest.raises(TimeoutError):
            listener.accept()  # no connection was ever made
    log = DeliveryAttempt.objects.get()
    assert log.status_code is None and log.outcome == "failed"
    assert log.error.startswith("Refused: localhost resolves to ") and "which is a loopback address" in log.error


def test_http_is_refused_at_connect_time_when_private_targets_are_not_allowed(workspace, alice, receiver, settings):
    services.webhook_create(user=alice, workspace=workspace, url=receiver.url, kinds=["*"])
    settings.MAISIE_WEBHOOK_ALLOW_PRIVATE = False
    registry_services.workspace_update(workspace=workspace, user=alice, description="changed")
    assert attempt_due() == ["failed"]
    assert receiver.requests == []
    assert "Only https URLs are allowed" in DeliveryAttempt.objects.get().error


def test_post_connects_to_the_address_it_checked():
    """The connection goes to the resolved and checked address, with the name in the Host header."""
    from webhooks.tests.receivers import Receiver

    with Receiver() as receiver:
        answer = targets.post(f"http://localhost:{receiver.port}/hook?x=1", b"{}", {"webhook-id": "m"}, timeout=5)
    assert answer.status == 200 and answer.excerpt == "ok"
    (request,) = receiver.requests
    assert request.path == "/hook?x=1" and request.headers["host"] == f"localhost:{receiver.port}"


def test_only_the_first_bytes_of_an_answer_are_kept():
    from webhooks.tests.receivers import Receiver, Reply

    with Receiver(default=Reply(200, body=b"x" * 100_000)) as receiver:
        answer = targets.post(receiver.url, b"{}", {}, timeout=5)
    assert answer.excerpt == "x" * targets.EXCERPT_BYTES
