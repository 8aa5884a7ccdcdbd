"""/proxy/referral mints real discount codes: it must not hand a guest's code to whoever knows
their email, let a guest take over a member's referral, or mint codes without limit."""
import pytest
from sqlalchemy import select

from app.models import GuestReferral, Referral
from tests.storefront.test_proxy_actions import land, referrer_code  # noqa: F401 - fixture
from tests.support import CUSTOMER_ID, payload, signed_proxy_query
from tests.support.ledger import balance, deliver, member_of
from tests.support.shopify_stub import user_errors

pytestmark = pytest.mark.both_backends


@pytest.fixture
def app_settings(app_settings):
    return {**app_settings, "REFERRAL_LANDINGS_PER_CLIENT_PER_HOUR": 3, "REFERRAL_LANDINGS_PER_SHOP_PER_HOUR": 5}


def land_from(client, code, address, email):
    return client.post(f"/proxy/referral?{signed_proxy_query(customer_id=None)}", json={"code": code, "email": email},
                       headers={"X-Forwarded-For": address})


def test_knowing_a_guests_email_does_not_give_their_welcome_code(client, t, shop, stub, referrer_code):
    first = land(client, referrer_code, email="victim@example.com")
    assert first.status_code == 200
    thief = land_from(client, referrer_code, "198.51.100.9", "Victim+promo@Example.com")
    assert thief.status_code == 409 and first.json["code"] not in thief.get_data(as_text=True)


def test_a_guest_cannot_repoint_a_members_referral(client, t, shop, stub, referrer_code):
    other = payload("orders/paid")
    other["customer"].update(id=222, email="other.referrer@example.com")
    other["id"] = 2
    deliver(client, t, "orders/paid", other)
    deliver(client, t, "customers/update", payload("customers/update"))
    member_code = land(client, referrer_code, customer_id=CUSTOMER_ID).json["code"]
    with t.db.scope(read_only=True) as session:
        member_welcome_id = session.scalar(select(Referral.welcome_redemption_id))
    email = member_of(t, shop).email
    assert email
    guest = land_from(client, member_of(t, shop, 222).referral_code, "198.51.100.9", email)
    assert member_code not in guest.get_data(as_text=True)
    with t.db.scope(read_only=True) as session:
        [referral] = session.scalars(select(Referral)).all()
        assert referral.referrer_member_id == member_of(t, shop, 111).id
        assert referral.referee_customer_id == CUSTOMER_ID and referral.welcome_redemption_id == member_welcome_id


def test_invented_emails_from_one_address_are_limited_with_retry_after(client, t, shop, stub, referrer_code):
    answers = [land_from(client, referrer_code, "203.0.113.7", f"made-up-{i}@example.com") for i in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].json["error"]["code"] == "too_many_requests"
    assert 0 < int(answers[-1].headers["Retry-After"]) <= 3600
    assert len(stub.mutations) == 3
    assert land_from(client, referrer_code, "203.0.113.8", "someone@example.com").status_code == 200


def test_a_forged_forwarded_for_prefix_does_not_escape_the_limit(client, t, shop, stub, referrer_code):
    statuses = [land_from(client, referrer_code, f"10.0.0.{i}, 203.0.113.7", f"x{i}@example.com").status_code
                for i in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_many_addresses_together_hit_the_shop_ceiling_and_the_window_reopens(client, t, shop, clock, stub,
                                                                          referrer_code):
    statuses = [land_from(client, referrer_code, f"203.0.113.{i}", f"y{i}@example.com").status_code
                for i in range(6)]
    assert statuses == [200] * 5 + [429]
    clock.advance(hours=1)
    assert land_from(client, referrer_code, "203.0.113.99", "later@example.com").status_code == 200


def test_a_guest_whose_code_failed_can_ask_again_and_gets_a_new_one(client, t, shop, stub, referrer_code):
    stub.then(user_errors("INVALID", "Shopify refused"))
    failed = land(client, referrer_code, email="unlucky@example.com")
    assert failed.status_code == 502
    retry = land(client, referrer_code, email="unlucky@example.com")
    assert retry.status_code == 200 and retry.json["code"].startswith("WELCOME-")
    assert land(client, referrer_code, email="unlucky@example.com").status_code == 409


def test_a_guests_welcome_code_on_their_first_order_still_rewards_the_referrer(client, t, shop, stub, referrer_code):
    code = land(client, referrer_code, email="new.friend@example.com").json["code"]
    order = payload("orders/paid")
    order["discount_codes"] = [{"code": code, "amount": "10.00", "type": "fixed_amount"}]
    deliver(client, t, "orders/paid", order)
    assert balance(t, shop, 111).balance == 110 + 500
    with t.db.scope(read_only=True) as session:
        assert session.scalar(select(GuestReferral)).email_sha256 != "new.friend@example.com"
        assert session.scalar(select(Referral)).source == "welcome_code"


def test_shop_redact_erases_guest_referrals_and_request_counters(client, t, shop, stub, referrer_code):
    from app.models import RateLimitWindow
    land(client, referrer_code, email="gone@example.com")
    deliver(client, t, "app/uninstalled", payload("app/uninstalled"))
    deliver(client, t, "shop/redact", payload("shop/redact"))
    with t.db.scope(read_only=True) as session:
        assert session.scalars(select(GuestReferral)).all() == []
        assert session.scalars(select(RateLimitWindow)).all() == []
