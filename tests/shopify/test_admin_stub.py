"""The test stub at the Shopify boundary is as strict as the demo store: a request whose document
or variables use something the Admin schema deprecates is refused, so a test cannot pass on a
field Shopify is about to remove."""
from datetime import datetime, timezone
from decimal import Decimal

from app.loyalty.rewards import RedemptionTerms
from app.shopify.discounts import discount_request
from app.shopify.documents import CUSTOMERS_PAGE
from tests.support.shopify_stub import schema_problems

TERMS = RedemptionTerms(kind="amount_off", points=500, value=Decimal("5"), currency="CAD", min_subtotal=None,
                        expiry_days=30, combines_with={"orderDiscounts": False, "productDiscounts": False,
                                                       "shippingDiscounts": True}, variant_id=None)
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)


def reward_code_body(customer_id: int | None) -> dict:
    request = discount_request(TERMS, code="5OFF-STUBBED", title="Reward", customer_id=customer_id, now=NOW)
    return {"query": request.document.text, "operationName": request.document.name, "variables": request.variables}


def test_tesseras_reward_code_request_passes():
    assert schema_problems(reward_code_body(7412583020571)) == []
    assert schema_problems(reward_code_body(None)) == []


def test_a_customer_selection_sent_the_deprecated_way_is_refused():
    body = reward_code_body(7412583020571)
    discount = body["variables"]["basicCodeDiscount"]
    discount["customerSelection"] = {"customers": {"add": discount.pop("context")["customers"]["add"]}}
    assert ["The input field DiscountCodeBasicInput.customerSelection (at $basicCodeDiscount.customerSelection) "
            "is deprecated. Use `context` instead."] == schema_problems(body)


def test_a_deprecated_field_in_the_document_is_refused():
    old = CUSTOMERS_PAGE.text.replace("defaultPhoneNumber { phoneNumber }", "phone")
    assert any("Customer.phone is deprecated" in p for p in schema_problems({"query": old, "variables": {}}))
