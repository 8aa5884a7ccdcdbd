"""App Proxy: referral landing (welcome code through the redemption path) and claims."""
import pytest

from tests.support import CUSTOMER_ID, payload, signed_proxy_query
from tests.support.ledger import balance, deliver, member_of, set_program

pytestmark = pytest.mark.both_backends



@pytest.fixture
def referrer_code(client, t, shop):
    set_program(t, shop, {"referrals": {"enabled": True, "referrer_points": 500, "referee_discount_value": "10"}})
    body = payload("orders/paid")
    body["customer"].update(id=111, email="referrer@example.com", first_name="Riley")
    body["id"] = 1
    deliver(client, t, "orders/paid", body)
    return member_of(t, shop, 111).referral_code


def land(client, code, customer_id=None, email=None):
    body = {"code": code, **({"email": email} if email else {})}
    return client.post(f"/proxy/referral?{signed_proxy_query(customer_id=customer_id)}", json=body)


def test_logged_in_referee_gets_a_welcome_code_limited_to_them_and_the_referrer_earns_later(
        client, t, shop, stub, referrer_code):
    response = land(client, referrer_code, customer_id=CUSTOMER_ID)
    assert response.status_code == 200
    code = response.json["code"]
    assert code.startswith("WELCOME-") and response.json["cart_attribute"] == {"name": "tessera_ref",
                                                                              "value": referrer_code}
    discount = stub.mutations[0]["variables"]["basicCodeDiscount"]
    assert discount["context"] == {"customers": {"add": [f"gid://shopify/Customer/{CUSTOMER_ID}"]}}
    assert discount["customerGets"]["value"]["discountAmount"]["amount"] == "10.00"
    assert land(client, referrer_code, customer_id=CUSTOMER_ID).json["code"] == code  # once
    order = payload("orders/paid")
    order["discount_codes"] = [{"code": code, "amount": "10.00", "type": "fixed_amount"}]
    deliver(client, t, "orders/paid", order)
    assert balance(t, shop, 111).balance == 110 + 500


def test_guest_needs_an_email_and_gets_one_code_per_email_shown_once(client, t, shop, stub, referrer_code):
    assert land(client, referrer_code).status_code == 422
    first = land(client, referrer_code, email="Friend+x@Example.com")
    again = land(client, referrer_code, email="friend@example.com")
    assert first.status_code == 200 and first.json["code"].startswith("WELCOME-")
    assert again.status_code == 409 and "code" not in again.json and len(stub.mutations) == 1
    discount = stub.mutations[0]["variables"]["basicCodeDiscount"]
    assert discount["context"] == {"all": "ALL"} and discount["usageLimit"] == 1


def test_own_link_and_unknown_codes_are_refused(client, t, shop, stub, referrer_code):
    own = land(client, referrer_code, customer_id=111)
    assert own.status_code == 409 and "your own referral link" in own.json["error"]["message"]
    assert land(client, "NOPE2345", customer_id=CUSTOMER_ID).status_code == 404
    assert stub.mutations == []


def test_social_follow_is_claimed_once_per_network(client, t, shop):
    set_program(t, shop, {"actions": {"social_follow": {"enabled": True, "points": 25, "networks": {
        "instagram": "https://instagram.com/maplepine", "tiktok": "https://tiktok.com/@maplepine"}}}})
    url = f"/proxy/claim?{signed_proxy_query()}"
    first = client.post(url, json={"action": "social_follow", "network": "instagram"})
    assert first.status_code == 200 and first.json["points"] == 25 and first.json["balance"] == 25
    assert client.post(url, json={"action": "social_follow", "network": "instagram"}).status_code == 409
    assert client.post(url, json={"action": "social_follow", "network": "tiktok"}).json["balance"] == 50
    assert client.post(url, json={"action": "social_follow", "network": "x"}).status_code == 409


def test_birthday_is_saved_through_the_widget(client, t, shop):
    url = f"/proxy/claim?{signed_proxy_query()}"
    assert client.post(url, json={"action": "birthday", "birthday": "31-12-1990"}).status_code == 422
    assert client.post(url, json={"action": "birthday", "birthday": "1990-12-31"}).status_code == 200
    assert str(member_of(t, shop).birthday) == "1990-12-31"
    assert client.post(f"/proxy/claim?{signed_proxy_query(customer_id=None)}",
                       json={"action": "birthday", "birthday": "1990-12-31"}).status_code == 401
