"""Reading orders and refunds from real payloads."""
from app.loyalty.orders import parse_order, parse_refund
from tests.support import CUSTOMER_ID, ORDER_ID, payload


def test_paid_order_facts_from_the_real_payload():
    facts = parse_order(payload("orders/paid"), topic="orders/paid")
    assert (facts.order_id, facts.customer_id, facts.currency, facts.paid) == (ORDER_ID, CUSTOMER_ID, "CAD", True)
    assert facts.bases.merchandise_minor == 11000 and facts.bases.shipping_minor == 800
    assert facts.bases.tax_minor == 1534 and facts.discount_codes == ("LOYAL-10-7KQ2",)
    assert not facts.is_test and facts.cancelled_at is None


def test_cancelled_order_carries_its_refunds():
    facts = parse_order(payload("orders/cancelled"))
    assert facts.cancelled_at is not None and facts.fully_refunded and facts.paid
    assert [r.refund_id for r in facts.refunds] == [978123456789]


def test_refund_base_is_the_refunded_merchandise_after_discounts():
    refund = parse_refund(payload("refunds/create"))
    assert (refund.order_id, refund.bases.merchandise_minor, refund.bases.tax_minor) == (ORDER_ID, 5500, 715)


def test_referral_code_from_cart_attribute_or_landing_parameter():
    body = payload("orders/paid")
    body["note_attributes"].append({"name": "tessera_ref", "value": "abcd2345"})
    assert parse_order(body).referral_code == "ABCD2345"
    body = payload("orders/paid")
    body["landing_site"] = "/?ref=ZXCV7788&utm_source=x"
    assert parse_order(body).referral_code == "ZXCV7788"


def test_voided_order_is_not_paid():
    body = payload("orders/create")
    body["financial_status"] = "voided"
    assert not parse_order(body).paid
