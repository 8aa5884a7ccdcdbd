"""Which URLs may receive webhooks: https to hosts whose every address is public."""
import pytest

from app.integrations.public_address import UnsafeDestination, check_webhook_url
from config import settings_from_env


def resolving_to(*addresses):
    return lambda host, port: list(addresses)


@pytest.mark.parametrize("addresses", [("127.0.0.1",), ("10.1.2.3",), ("172.16.0.9",), ("192.168.1.1",),
                                       ("169.254.169.254",), ("100.64.0.1",), ("::1",), ("fe80::1",), ("fd00::1",),
                                       ("::ffff:10.0.0.1",), ("0.0.0.0",), ("224.0.0.1",),
                                       ("93.184.215.14", "10.0.0.1")])
def test_a_host_with_any_address_that_is_not_public_is_refused(addresses):
    with pytest.raises(UnsafeDestination, match="not a public address"):
        check_webhook_url("https://hooks.example.com/x", allow_private=False, resolve=resolving_to(*addresses))


def test_a_host_whose_addresses_are_all_public_is_accepted():
    check_webhook_url("https://hooks.example.com:8443/x", allow_private=False,
                      resolve=resolving_to("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"))


def test_a_host_that_does_not_resolve_is_refused_with_the_reason():
    with pytest.raises(UnsafeDestination, match="cannot be resolved"):
        check_webhook_url("https://no-such-host.invalid/x", allow_private=False)


def test_private_destinations_and_plain_http_are_allowed_only_by_the_setting():
    check_webhook_url("http://127.0.0.1:8000/x", allow_private=True, resolve=resolving_to("127.0.0.1"))
    assert settings_from_env({"OUTBOUND_WEBHOOKS_ALLOW_PRIVATE": "1"})["OUTBOUND_WEBHOOKS_ALLOW_PRIVATE"] is True
    assert settings_from_env({})["OUTBOUND_WEBHOOKS_ALLOW_PRIVATE"] is False
    assert settings_from_env({})["KLAVIYO_API_URL"] == "https://a.klaviyo.com"
