"""Owner API keys: minted with a session token (shown once, stored hashed), they then work on
every /api/v1 route of their shop only; revoked, they are refused."""
import hashlib

import pytest
from sqlalchemy import select

from app.models import ApiKey, Shop
from tests.admin.helpers import bearer
from tests.support import OTHER_SHOP, SHOP, payload
from tests.support.ledger import deliver


def mint(client, shop=SHOP, **body):
    response = client.post("/api/v1/api-keys", json=body or {"label": "Nightly export"}, headers=bearer(shop=shop))
    assert response.status_code == 201, response.json
    return response.json


def with_key(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.both_backends
def test_a_minted_key_is_shown_once_and_only_its_hash_is_stored(client, t, shop):
    minted = mint(client)
    assert minted["key"].startswith("tsk_") and len(minted["key"]) >= 4 + 43
    with t.db.scope(read_only=True) as session:
        row = session.get(ApiKey, minted["id"])
        assert row.key_hash == hashlib.sha256(minted["key"].encode()).hexdigest()
        assert minted["key"] not in {row.key_hash, row.key_prefix} and minted["key"].startswith(row.key_prefix)
    listed = client.get("/api/v1/api-keys", headers=bearer()).json["api_keys"]
    assert [(k["id"], k["label"], k["last_used_at"]) for k in listed] == [(minted["id"], "Nightly export", None)]
    assert minted["key"] not in str(listed)


@pytest.mark.both_backends
def test_a_key_reads_and_writes_its_shops_api_like_the_owner(client, t, shop, clock):
    key = mint(client)["key"]
    assert client.get("/api/v1/program", headers=with_key(key)).json["version"] == 1
    response = client.patch("/api/v1/program", json={"widget": {"program_name": "Club"}}, headers=with_key(key))
    assert response.status_code == 200 and response.json["updated_by"] == f"api_key:{mint_id(t, key)}"
    [listed] = client.get("/api/v1/api-keys", headers=bearer()).json["api_keys"]
    assert listed["last_used_at"] == clock().isoformat()


def mint_id(t, key: str) -> int:
    with t.db.scope(read_only=True) as session:
        return session.scalar(select(ApiKey.id).where(ApiKey.key_hash == hashlib.sha256(key.encode()).hexdigest()))


def test_a_key_of_one_shop_never_reaches_another_shops_data(client, t, shop, other_shop):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    other_key = mint(client, shop=OTHER_SHOP)["key"]
    members = client.get("/api/v1/members", headers=with_key(other_key))
    assert members.status_code == 200 and members.json["members"] == []
    mine = client.get("/api/v1/members", headers=bearer()).json["members"]
    assert len(mine) == 1
    assert client.get(f"/api/v1/members/{mine[0]['customer_id']}", headers=with_key(other_key)).status_code == 404
    assert client.get("/api/v1/api-keys", headers=with_key(other_key)).json["api_keys"][0]["label"] == "Nightly export"
    assert client.get("/api/v1/api-keys", headers=bearer()).json["api_keys"] == []


def test_a_revoked_key_is_refused_with_a_json_error(client, t, shop):
    minted = mint(client)
    assert client.delete(f"/api/v1/api-keys/{minted['id']}", headers=bearer()).status_code == 204
    response = client.get("/api/v1/program", headers=with_key(minted["key"]))
    assert response.status_code == 401 and response.json["error"]["code"] == "invalid_api_key"
    assert client.get("/api/v1/api-keys", headers=bearer()).json["api_keys"] == []


def test_an_unknown_key_is_refused_and_not_tried_as_a_session_token(client, shop):
    response = client.get("/api/v1/program", headers=with_key("tsk_" + "x" * 43))
    assert response.status_code == 401 and response.json["error"]["code"] == "invalid_api_key"


def test_a_key_cannot_mint_keys(client, t, shop):
    key = mint(client)["key"]
    response = client.post("/api/v1/api-keys", json={"label": "more"}, headers=with_key(key))
    assert response.status_code == 403 and "cannot create API keys" in response.json["error"]["message"]
    assert len(client.get("/api/v1/api-keys", headers=bearer()).json["api_keys"]) == 1


def test_minting_needs_a_session_token(client, shop):
    assert client.post("/api/v1/api-keys", json={}).status_code == 401
    assert client.get("/api/v1/api-keys").status_code == 401


def test_another_shops_key_cannot_be_revoked(client, t, shop, other_shop):
    minted = mint(client)
    response = client.delete(f"/api/v1/api-keys/{minted['id']}", headers=bearer(shop=OTHER_SHOP))
    assert response.status_code == 404
    assert client.get("/api/v1/program", headers=with_key(minted["key"])).status_code == 200


def test_a_label_too_long_is_422_naming_the_field(client, shop):
    response = client.post("/api/v1/api-keys", json={"label": "x" * 101}, headers=bearer())
    assert response.status_code == 422 and response.json["error"]["fields"][0]["field"] == "label"


def test_keys_stop_working_when_the_shop_uninstalls_and_stay_revoked_after_a_reinstall(client, t, shop, clock):
    key = mint(client)["key"]
    deliver(client, t, "app/uninstalled", payload("app/uninstalled"))
    assert client.get("/api/v1/program", headers=with_key(key)).status_code == 401
    with t.db.scope() as session:
        session.get(Shop, shop.id).uninstalled_at = None
        session.commit()
    clock.advance(minutes=5)
    assert client.get("/api/v1/program", headers=with_key(key)).status_code == 401


def test_a_key_opens_no_admin_page(client, shop):
    key = mint(client)["key"]
    page = client.get("/members", headers=with_key(key))
    assert page.status_code == 401 and "Tessera" in page.get_data(as_text=True)
    assert "Jordan" not in page.get_data(as_text=True)
