"""The stand-in's storeCreditAccountDebit is as strict as Shopify's: no account is opened by a
debit, a debit never takes the balance below zero, and debits read back as Shopify lists them."""
from decimal import Decimal

import pytest

from app.loyalty.rewards import RedemptionTerms
from app.shopify.admin_access import call_admin
from app.shopify.discounts import customer_gid, store_credit_request
from app.shopify.documents import DEBIT_STORE_CREDIT, STORE_CREDIT_DEBITS
from app.shopify.graphql import ShopifyUserErrors

CREDIT = RedemptionTerms(kind="store_credit", points=0, value=Decimal("5"), currency="USD", min_subtotal=None,
                         expiry_days=None, combines_with={}, variant_id=None)


def debit(t, shop, customer_id, amount, currency="USD"):
    with t.db.scope() as session:
        return call_admin(t.shopify, session, shop, DEBIT_STORE_CREDIT, {
            "id": customer_gid(customer_id), "debitInput": {"debitAmount": {"amount": amount, "currencyCode": currency}}})


def credit(t, shop, customer_id):
    request = store_credit_request(CREDIT, customer_id=customer_id, now=t.clock())
    with t.db.scope() as session:
        call_admin(t.shopify, session, shop, request.document, request.variables)


def test_a_debit_takes_from_the_balance_and_reads_back_as_a_negative_debit(t, installed, demo):
    customer = demo.sign_up("alice@example.com", "Alice", "Martin").record
    credit(t, installed, customer["id"])
    answer = debit(t, installed, customer["id"], "2.25")
    transaction = answer["storeCreditAccountDebit"]["storeCreditAccountTransaction"]
    assert transaction["balanceAfterTransaction"] == {"amount": "2.75", "currencyCode": "USD"}
    with t.db.scope() as session:
        read = call_admin(t.shopify, session, installed, STORE_CREDIT_DEBITS, {
            "customerId": customer_gid(customer["id"]), "accountQuery": "currency_code:USD"})
    [account] = read["customer"]["storeCreditAccounts"]["nodes"]
    assert account["balance"] == {"amount": "2.75", "currencyCode": "USD"}
    [listed] = account["transactions"]["nodes"]
    assert listed["__typename"] == "StoreCreditAccountDebitTransaction" and listed["id"] == transaction["id"]
    assert listed["amount"] == {"amount": "-2.25", "currencyCode": "USD"}


@pytest.mark.parametrize(("amount", "currency", "code"), [("5.01", "USD", "INSUFFICIENT_FUNDS"),
                                                          ("0", "USD", "NEGATIVE_OR_ZERO_AMOUNT"),
                                                          ("1.00", "CAD", "ACCOUNT_NOT_FOUND")])
def test_a_debit_shopify_would_refuse_is_refused(t, installed, demo, amount, currency, code):
    customer = demo.sign_up("bob@example.com", "Bob", "Nguyen").record
    credit(t, installed, customer["id"])
    with pytest.raises(ShopifyUserErrors) as refused:
        debit(t, installed, customer["id"], amount, currency)
    assert refused.value.codes == {code}


def test_a_debit_never_opens_an_account(t, installed, demo):
    customer = demo.sign_up("cara@example.com", "Cara", "Ortiz").record
    with pytest.raises(ShopifyUserErrors) as refused:
        debit(t, installed, customer["id"], "1.00")
    assert refused.value.codes == {"ACCOUNT_NOT_FOUND"}
