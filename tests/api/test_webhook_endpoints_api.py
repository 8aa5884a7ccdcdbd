"""POST/GET/DELETE /api/v1/webhook-endpoints: the secret is shown once (`whsec_`), only HTTPS to
public addresses is accepted (422 naming the field otherwise), each shop sees its own."""
import base64

import pytest
from sqlalchemy import select

from app.models import WebhookEndpoint
from tests.admin.helpers import bearer
from tests.support import OTHER_SHOP

ALL_EVENTS = ["member.enrolled", "points.earned", "points.spent", "points.expired", "points.adjusted",
              "reward.redeemed", "tier.changed", "referral.completed"]


@pytest.fixture
def public_dns(monkeypatch):
    """Names resolve without a network: hooks.example.com is public, internal.example.com is not; an address literal resolves to itself."""
    answers = {"hooks.example.com": ["93.184.215.14"], "internal.example.com": ["93.184.215.14", "10.0.0.7"]}

    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [(2, 1, 6, "", (address, port)) for address in answers.get(host, [host])]
    monkeypatch.setattr("socket.getaddrinfo", fake_getaddrinfo)


def add(client, url="https://hooks.example.com/tessera", events=None, shop=None):
    headers = bearer(shop=shop) if shop else bearer()
    return client.post("/api/v1/webhook-endpoints", json={"url": url, "events": events or ALL_EVENTS},
                       headers=headers)


@pytest.mark.both_backends
def test_an_endpoint_is_created_with_a_standard_webhooks_secret_shown_once(client, t, shop, public_dns):
    response = add(client, events=["points.earned", "tier.changed"])
    assert response.status_code == 201
    secret = response.json["secret"]
    assert secret.startswith("whsec_") and 24 <= len(base64.b64decode(secret[len("whsec_"):])) <= 64
    listed = client.get("/api/v1/webhook-endpoints", headers=bearer()).json["webhook_endpoints"]
    assert [(e["id"], e["url"], e["events"], e["disabled_at"]) for e in listed] == [
        (response.json["id"], "https://hooks.example.com/tessera", ["points.earned", "tier.changed"], None)]
    assert secret not in str(listed)
    with t.db.scope(read_only=True) as session:
        stored = session.scalar(select(WebhookEndpoint.secret_ciphertext))
    assert secret[6:] not in stored and t.cipher.decrypt(stored) == secret


@pytest.mark.parametrize("url, problem", [
    ("http://hooks.example.com/tessera", "https://"),
    ("https://127.0.0.1/hook", "not a public address"),
    ("https://169.254.169.254/latest/meta-data", "not a public address"),
    ("https://[::1]/hook", "not a public address"),
    ("https://internal.example.com/hook", "10.0.0.7"),
    ("https://user:pw@hooks.example.com/hook", "user name or password"),
    ("ftp://hooks.example.com/", "https://"),
])
def test_urls_that_are_not_https_to_public_addresses_are_422_naming_the_url(client, shop, public_dns, url, problem):
    response = add(client, url=url)
    assert response.status_code == 422
    [field] = response.json["error"]["fields"]
    assert field["field"] == "url" and problem in field["problem"]
    assert client.get("/api/v1/webhook-endpoints", headers=bearer()).json["webhook_endpoints"] == []


def test_private_addresses_are_accepted_when_the_setting_allows_them(client, t, shop):
    t.config["OUTBOUND_WEBHOOKS_ALLOW_PRIVATE"] = True
    assert add(client, url="http://127.0.0.1:8123/hook").status_code == 201


@pytest.mark.parametrize("events", [["points.earned", "points.gifted"], [], "points.earned", [1]])
def test_unknown_or_missing_event_types_are_422_naming_events(client, shop, public_dns, events):
    response = client.post("/api/v1/webhook-endpoints", json={"url": "https://hooks.example.com/x", "events": events},
                           headers=bearer())
    assert response.status_code == 422
    assert [f["field"] for f in response.json["error"]["fields"]] == ["events"]


def test_deleting_removes_the_endpoint_and_another_shop_cannot(client, shop, other_shop, public_dns):
    endpoint_id = add(client).json["id"]
    assert client.delete(f"/api/v1/webhook-endpoints/{endpoint_id}", headers=bearer(shop=OTHER_SHOP)).status_code == 404
    assert client.get("/api/v1/webhook-endpoints", headers=bearer(shop=OTHER_SHOP)).json["webhook_endpoints"] == []
    assert client.get(f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries",
                      headers=bearer(shop=OTHER_SHOP)).status_code == 404
    assert client.delete(f"/api/v1/webhook-endpoints/{endpoint_id}", headers=bearer()).status_code == 204
    assert client.get("/api/v1/webhook-endpoints", headers=bearer()).json["webhook_endpoints"] == []
    assert client.delete(f"/api/v1/webhook-endpoints/{endpoint_id}", headers=bearer()).status_code == 404


def test_webhook_endpoints_need_authentication(client, shop):
    assert client.get("/api/v1/webhook-endpoints").status_code == 401
    assert client.post("/api/v1/webhook-endpoints", json={"url": "https://x.example", "events": ALL_EVENTS}
                       ).status_code == 401
