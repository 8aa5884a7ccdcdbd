"""App Proxy queries where a Shopify-set parameter appears twice are refused: Shopify signs
every copy (comma-joined), so the signature holds while a reader would pick one of them."""
import pytest

from app.shopify.signatures import proxy_message
from tests.support import CUSTOMER_ID, OTHER_SHOP, SECRET, SHOP, signed_proxy_query
from tests.support.ledger import adjust, member_of

VICTIM_ID = 7412583020999


def shopify_signed(pairs: list[tuple[str, str]]) -> str:
    """Sign like Shopify does when the shopper's own URL already carried the same keys."""
    import hashlib
    import hmac
    from urllib.parse import urlencode
    query = urlencode(pairs)
    signature = hmac.new(SECRET.encode(), proxy_message(query).encode(), hashlib.sha256).hexdigest()
    return f"{query}&signature={signature}"


def base_pairs(timestamp: str) -> list[tuple[str, str]]:
    return [("shop", SHOP), ("logged_in_customer_id", str(CUSTOMER_ID)), ("path_prefix", "/apps/tessera"),
            ("timestamp", timestamp)]


@pytest.mark.parametrize("key,value", [("logged_in_customer_id", str(VICTIM_ID)), ("shop", OTHER_SHOP),
                                       ("timestamp", "9999999999"), ("path_prefix", "/apps/other")])
def test_a_shopper_supplied_copy_of_a_shopify_parameter_is_401(client, t, shop, key, value):
    import time
    pairs = base_pairs(str(int(time.time())))
    query = shopify_signed([(key, value)] + pairs)  # shopper's copy first: a first-wins reader takes it
    response = client.get(f"/proxy/member?{query}")
    assert response.status_code == 401 and response.json["error"]["code"] == "invalid_signature"


def test_a_repeated_customer_cannot_spend_another_members_points(client, t, shop):
    import time
    adjust(t, shop, 600)
    query = shopify_signed(base_pairs(str(int(time.time()))) + [("logged_in_customer_id", str(VICTIM_ID))])
    response = client.post(f"/proxy/claim?{query}", json={"action": "birthday", "birthday": "1990-12-31"})
    assert response.status_code == 401
    assert member_of(t, shop).birthday is None


def test_repeated_shopper_parameters_of_their_own_still_verify(client, t, shop):
    import time
    query = shopify_signed([("extra", "1"), ("extra", "2")] + base_pairs(str(int(time.time()))))
    assert client.get(f"/proxy/program?{query}").status_code == 200


@pytest.mark.parametrize("signature", ["é" * 64, "%E2%98%83" * 8, "\u0661" * 64],
                         ids=["latin", "snowman", "arabic-digits"])
def test_a_non_ascii_signature_is_401_not_500(client, t, shop, signature):
    query = signed_proxy_query().rsplit("&signature=", 1)[0]
    response = client.get(f"/proxy/member?{query}&signature={signature}")
    assert response.status_code == 401 and response.json["error"]["code"] == "invalid_signature"


@pytest.mark.parametrize("timestamp", ["\u00b2", "9" * 5000], ids=["superscript-two", "5000-digits"])
def test_a_signed_but_odd_timestamp_is_401_not_500(client, t, shop, timestamp):
    query = shopify_signed([("shop", SHOP), ("logged_in_customer_id", ""), ("path_prefix", "/apps/tessera"),
                            ("timestamp", timestamp)])
    response = client.get(f"/proxy/member?{query}")
    assert response.status_code == 401 and response.json["error"]["code"] == "expired_signature"
