"""The stand-in's metafieldDefinitionCreate, metafieldsSet and flowTriggerReceive refuse what
Shopify refuses, so the metafield and Flow code is held to Shopify's contract."""
import pytest

from app.services.customer_metafields import NAMESPACE, ensure_metafield_definitions
from app.shopify.admin_access import call_admin
from app.shopify.documents import RECEIVE_FLOW_TRIGGER, SET_METAFIELDS
from app.shopify.graphql import ShopifyUserErrors
from tests.devstore.test_admin_api import post


@pytest.fixture
def customer_gid(demo, installed):
    customer = demo.sign_up("ada@example.com", "Ada", "Lovelace").record
    return f"gid://shopify/Customer/{customer['id']}"


def set_metafields(t, shop, metafields):
    with t.db.scope() as session:
        return call_admin(t.shopify, session, shop, SET_METAFIELDS, {"metafields": metafields})


def balance(owner, value="120", **changes):
    return {"ownerId": owner, "namespace": NAMESPACE, "key": "points_balance", "type": "number_integer",
            "value": value, **changes}


def test_installing_creates_the_definitions_and_the_upkeep_finds_them_taken(t, installed, demo):
    definitions = demo.snapshot()["metafield_definitions"]
    assert [d["key"] for d in definitions] == ["points_balance", "points_pending", "tier", "referral_url"]
    assert {(d["namespace"], d["ownerType"], d["access"]["storefront"]) for d in definitions} == {
        ("$app:loyalty", "CUSTOMER", "PUBLIC_READ")}
    with t.db.scope() as session:
        assert ensure_metafield_definitions(t.shopify, session, installed) == []  # TAKEN is success
    assert len(demo.snapshot()["metafield_definitions"]) == 4


def test_a_value_is_written_and_shown_on_the_customer(t, installed, demo, customer_gid):
    set_metafields(t, installed, [balance(customer_gid)])
    assert demo.snapshot()["metafields"][customer_gid]["$app:loyalty.points_balance"]["value"] == "120"


@pytest.mark.parametrize(("change", "code"), [
    ({"value": "12.5"}, "INVALID_VALUE"),
    ({"type": "single_line_text_field"}, "INVALID_TYPE"),
    ({"namespace": "shopify_standard"}, "INVALID"),
    ({"key": "points balance!"}, "INVALID"),
    ({"ownerId": "gid://shopify/Customer/1"}, "INVALID"),
])
def test_metafields_shopify_refuses_are_refused_and_nothing_is_written(t, installed, demo, customer_gid, change,
                                                                       code):
    with pytest.raises(ShopifyUserErrors) as refused:
        set_metafields(t, installed, [balance(customer_gid, "7"), balance(customer_gid, **change)])
    assert refused.value.codes == {code}
    assert customer_gid not in demo.snapshot().get("metafields", {})  # atomic: the valid one neither


def test_more_than_25_metafields_in_one_call_are_refused(t, installed, customer_gid):
    with pytest.raises(ShopifyUserErrors) as refused:
        set_metafields(t, installed, [balance(customer_gid, str(n)) for n in range(26)])
    assert refused.value.codes == {"LESS_THAN_OR_EQUAL_TO"}


def test_a_flow_trigger_is_received_only_for_a_declared_handle_with_every_field(t, installed, demo):
    with t.db.scope() as session:
        with pytest.raises(ShopifyUserErrors, match="Invalid handle"):
            call_admin(t.shopify, session, installed, RECEIVE_FLOW_TRIGGER,
                       {"handle": "tessera-unknown", "payload": {"customer_id": 1}})
        with pytest.raises(ShopifyUserErrors, match="Balance"):
            call_admin(t.shopify, session, installed, RECEIVE_FLOW_TRIGGER,
                       {"handle": "tessera-points-earned", "payload": {"customer_id": 1, "Points": 5}})
        call_admin(t.shopify, session, installed, RECEIVE_FLOW_TRIGGER,
                   {"handle": "tessera-points-earned", "payload": {"customer_id": 1, "Points": 5, "Balance": 40}})
    assert [r["handle"] for r in demo.snapshot()["flow_triggers"]] == ["tessera-points-earned"]


def test_the_deprecated_body_argument_of_flow_trigger_receive_is_refused(client, t, installed):
    query = 'mutation Old { flowTriggerReceive(body: "{}") { userErrors { message } } }'
    answer = post(client, t, installed, {"query": query, "operationName": "Old"}).get_json()
    assert "data" not in answer or answer.get("data") is None
    assert "deprecated" in answer["errors"][0]["message"]


def test_the_demo_store_shows_definitions_values_and_received_triggers(client, t, installed, demo, customer_gid):
    set_metafields(t, installed, [balance(customer_gid, "120")])
    with t.db.scope() as session:
        call_admin(t.shopify, session, installed, RECEIVE_FLOW_TRIGGER,
                   {"handle": "tessera-tier-changed", "payload": {"customer_id": 1, "Tier": "Gold",
                                                                  "Previous tier": "Silver"}})
    page = client.get("/devstore/metafields-and-flow").get_data(as_text=True)
    assert "$app:loyalty.points_balance" in page and "ada@example.com" in page and "= 120" in page
    assert "tessera-tier-changed" in page and "Gold" in page


def test_a_members_order_in_the_demo_store_ends_up_on_the_customers_metafields(t, installed, demo):
    from app.services import member_events
    from app.services.customer_metafields import write_due_metafields
    from tests.devstore.test_bulk_operations import item
    demo.sign_up("grace@example.com", "Grace", "Hopper")
    demo.checkout("grace@example.com", [item("trailhead-hoodie")])
    demo.run_jobs()
    member_events.dispatch_member_events(t.db.session, now=t.clock())
    assert write_due_metafields(t.shopify, t.db, now=t.clock()) == 1
    customer = next(c for c in demo.snapshot()["customers"].values() if c["email"] == "grace@example.com")
    written = demo.snapshot()["metafields"][f"gid://shopify/Customer/{customer['id']}"]
    assert int(written["$app:loyalty.points_balance"]["value"]) > 0
    assert written["$app:loyalty.referral_url"]["value"].startswith("https://")
