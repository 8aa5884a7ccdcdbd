"""What the widget reads from the App Proxy beyond the basics: enough to say everything in the
shopper's language, and which social actions are already done."""
import pytest

from tests.support import signed_proxy_query
from tests.support.ledger import set_program

pytestmark = pytest.mark.both_backends


def program(client):
    return client.get(f"/proxy/program?{signed_proxy_query()}").json


def test_ways_to_earn_carry_numbers_not_only_english_text(client, t, shop):
    set_program(t, shop, {"earning": {"base": "subtotal_with_shipping"},
                          "actions": {"order_streak": {"enabled": True, "points": 50, "orders": 3, "days": 30}}})
    ways = {w["key"]: w for w in program(client)["ways_to_earn"]}
    assert ways["purchase"]["base"] == "subtotal_with_shipping" and ways["purchase"]["points_per_unit"] == "1"
    assert (ways["order_streak"]["orders"], ways["order_streak"]["days"]) == (3, 30)


def test_the_program_name_is_only_given_when_the_owner_chose_one(client, t, shop):
    assert program(client)["custom_program_name"] is None
    set_program(t, shop, {"widget": {"program_name": "Maple Club"}})
    assert program(client)["custom_program_name"] == "Maple Club"


def test_member_state_lists_the_social_actions_already_claimed(client, t, shop):
    set_program(t, shop, {"actions": {
        "social_follow": {"enabled": True, "points": 25, "networks": {"instagram": "https://instagram.com/maplepine"}},
        "social_share": {"enabled": True, "points": 10, "networks": {"facebook": "https://facebook.com/maplepine"}}}})
    member_url = f"/proxy/member?{signed_proxy_query()}"
    assert client.get(member_url).json["claimed_social"] == []
    claim_url = f"/proxy/claim?{signed_proxy_query()}"
    assert client.post(claim_url, json={"action": "social_follow", "network": "instagram"}).status_code == 200
    assert client.post(claim_url, json={"action": "social_share", "network": "facebook"}).status_code == 200
    assert client.get(member_url).json["claimed_social"] == [{"action": "social_follow", "network": "instagram"},
                                                             {"action": "social_share", "network": "facebook"}]


def test_a_customer_not_seen_yet_has_no_claims(client, t, shop):
    assert client.get(f"/proxy/member?{signed_proxy_query(customer_id=999)}").json["claimed_social"] == []
