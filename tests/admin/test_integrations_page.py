"""The Integrations page: API keys and webhook endpoints created from the admin (the secret in
the answer once, never on the page), revoked or deleted; a disabled endpoint warns on every page."""
from sqlalchemy import select

from app.models import WebhookEndpoint
from tests.admin.helpers import get_page, post_form
from tests.support import OTHER_SHOP


def test_the_page_is_in_the_navigation_and_lists_nothing_at_first(client, shop):
    html = get_page(client, "/integrations").get_data(as_text=True)
    assert 'aria-current="page">Integrations</a>' in html
    assert "No API keys yet." in html and "No webhook endpoints yet." in html


def test_a_key_created_in_the_admin_is_in_the_answer_once_and_then_listed_by_prefix(client, shop):
    response = post_form(client, "/integrations/api-keys", {"label": "Warehouse sync"})
    key = response.json["secret"]
    assert key.startswith("tsk_")
    html = get_page(client, "/integrations").get_data(as_text=True)
    assert "Warehouse sync" in html and key[:12] in html and key not in html
    assert client.get("/api/v1/program", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_revoking_from_the_admin_stops_the_key(client, shop):
    key = post_form(client, "/integrations/api-keys", {"label": "Old script"}).json["secret"]
    key_id = client.get("/api/v1/api-keys", headers={"Authorization": f"Bearer {key}"}).json["api_keys"][0]["id"]
    assert post_form(client, f"/integrations/api-keys/{key_id}/revoke").status_code == 200
    assert client.get("/api/v1/program", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert "Old script" not in get_page(client, "/integrations").get_data(as_text=True)


def test_an_endpoint_added_in_the_admin_shows_its_secret_once_and_errors_name_the_field(client, t, shop):
    t.config["OUTBOUND_WEBHOOKS_ALLOW_PRIVATE"] = True
    added = post_form(client, "/integrations/webhook-endpoints",
                      {"url": "http://127.0.0.1:9/hook", "events": ["points.earned", "tier.changed"]})
    assert added.status_code == 200 and added.json["secret"].startswith("whsec_")
    html = get_page(client, "/integrations").get_data(as_text=True)
    assert "http://127.0.0.1:9/hook" in html and "points.earned, tier.changed" in html
    assert added.json["secret"] not in html
    refused = post_form(client, "/integrations/webhook-endpoints", {"url": "http://127.0.0.1:9/x"})
    assert refused.status_code == 422 and [f["field"] for f in refused.json["error"]["fields"]] == ["events"]


def test_a_disabled_endpoint_is_announced_on_every_page_and_its_log_is_shown(client, t, shop, other_shop, clock):
    t.config["OUTBOUND_WEBHOOKS_ALLOW_PRIVATE"] = True
    post_form(client, "/integrations/webhook-endpoints", {"url": "http://127.0.0.1:9/hook", "events": ["points.earned"]})
    with t.db.scope() as session:
        endpoint = session.scalar(select(WebhookEndpoint))
        endpoint.disabled_at, endpoint.disabled_reason = clock(), "Deliveries failed for 24 hours."
        session.commit()
        endpoint_id = endpoint.id
    home = get_page(client, "/").get_data(as_text=True)
    assert "data-webhooks-disabled" in home and "http://127.0.0.1:9/hook" in home
    log = get_page(client, f"/integrations/webhook-endpoints/{endpoint_id}").get_data(as_text=True)
    assert "This endpoint is disabled" in log and "Nothing sent yet." in log
    assert get_page(client, f"/integrations/webhook-endpoints/{endpoint_id}", shop=OTHER_SHOP).status_code == 404


def test_klaviyo_is_connected_with_a_private_key_stored_encrypted_and_can_be_disconnected(client, t, shop):
    from app.models import KlaviyoAccount
    refused = post_form(client, "/integrations/klaviyo", {"api_key": "pub_ABC123"})
    assert refused.status_code == 422 and refused.json["error"]["fields"][0]["field"] == "api_key"
    key = "pk_live_8d1c0a77b2e54f3aa0c9"
    assert post_form(client, "/integrations/klaviyo", {"api_key": key}).status_code == 200
    with t.db.scope(read_only=True) as session:
        stored = session.scalar(select(KlaviyoAccount.api_key_ciphertext))
    assert key not in stored and t.cipher.decrypt(stored) == key
    html = get_page(client, "/integrations").get_data(as_text=True)
    assert "data-klaviyo-connected" in html and "pk_li…a0c9" in html and key not in html
    assert post_form(client, "/integrations/klaviyo/disconnect").status_code == 200
    assert "data-klaviyo-connected" not in get_page(client, "/integrations").get_data(as_text=True)
