"""The demo store's UI extensions page: it mints the tokens Shopify would give the extensions
and its calls reach the real extension endpoints and /api/v1, so `make run` shows each data path."""
from __future__ import annotations

import json
import re

import pytest

from app.devstore.catalog import product

TOKEN = re.compile(r"const (customerToken|adminToken|cart) = (.+?);\n")


@pytest.fixture
def alice(demo, installed):
    return demo.sign_up("alice@example.com", "Alice", "Martin").record


def page_values(client, customer_id) -> dict:
    page = client.get(f"/devstore/extensions?customer={customer_id}")
    assert page.status_code == 200
    return {name: json.loads(value) for name, value in TOKEN.findall(page.get_data(as_text=True))}


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_the_page_is_linked_from_every_demo_store_page(client):
    assert 'href="/devstore/extensions"' in client.get("/devstore/").get_data(as_text=True)


def test_the_customer_account_calls_show_the_customers_points_and_the_orders(client, t, demo, alice):
    order = demo.checkout(alice["id"], [(product("ridgeline-rain-shell"), 1, None)]).record
    values = page_values(client, alice["id"])
    member = client.get("/extensions/customer-account/member", headers=bearer(values["customerToken"]))
    assert member.status_code == 200 and member.json["balance"] >= 148
    earned = client.get(f"/extensions/customer-account/orders/{order['id']}", headers=bearer(values["customerToken"]))
    assert (earned.json["known"], earned.json["earned"]) == (True, 148)


def test_the_checkout_calls_estimate_the_customers_latest_order_again(client, demo, alice):
    demo.checkout(alice["id"], [(product("ridgeline-rain-shell"), 1, None)])
    values = page_values(client, alice["id"])
    estimate = client.post("/extensions/checkout/estimate", json=values["cart"],
                           headers=bearer(values["customerToken"]))
    assert estimate.status_code == 200 and estimate.json["points"] == 148


def test_the_admin_calls_show_the_member_and_the_order(app, client, demo, alice):
    order = demo.checkout(alice["id"], [(product("ridgeline-rain-shell"), 1, None)]).record
    values = page_values(client, alice["id"])
    # A context of its own, as a browser's next request has: the demo fixture's context would
    # keep the page load's anonymous user for the admin calls.
    with app.app_context():
        member = client.get(f"/api/v1/members/{alice['id']}", headers=bearer(values["adminToken"]))
    assert member.status_code == 200 and member.json["ledger"], member.json
    with app.app_context():
        points = client.get(f"/api/v1/orders/{order['id']}/points", headers=bearer(values["adminToken"]))
    assert points.status_code == 200 and points.json["earned"] == 148



POS_TOKEN = re.compile(r"const posToken = (.+?);\n")


def test_the_pos_section_redeems_onto_the_cart_with_the_pos_token_and_names_the_store(app, client, t, demo, alice):
    demo.checkout(alice["id"], [(product("ridgeline-rain-shell"), 1, None)], location="Main Street store")
    page = client.get(f"/devstore/extensions?customer={alice['id']}").get_data(as_text=True)
    assert 'id="pos"' in page and "Main Street store" in page
    token = json.loads(POS_TOKEN.search(page).group(1))
    reward_id = counter_treat(t)
    with app.app_context():  # a request of its own, as the browser's next call (see above)
        member = client.get(f"/api/v1/members/{alice['id']}", headers=bearer(token)).json
    assert [e["place"]["text"] for e in member["ledger"] if "place" in e] == ["in store at Main Street store"]
    with app.app_context():
        redeemed = client.post(f"/api/v1/members/{alice['id']}/redemptions", headers=bearer(token),
                               json={"reward_id": reward_id, "idempotency_key": "pos-demo-0001"})
    assert redeemed.status_code == 201 and redeemed.json["code"], redeemed.json
    assert redeemed.json["balance"] == member["balance"] - 100
    with app.app_context():
        after = client.get(f"/api/v1/members/{alice['id']}", headers=bearer(token)).json
    assert after["balance"] == member["balance"] - 100, after["ledger"]


def counter_treat(t) -> int:
    from app.devstore import DEMO_SHOP
    from app.services.rewards import create_reward
    from app.services.shops import find_shop
    with t.db.scope() as session:
        return create_reward(session, find_shop(session, DEMO_SHOP), {
            "kind": "amount_off", "name": "Counter treat", "points_cost": 100, "value": "5"}).id
