"""Store credit accounts in the stand-in, as the Admin API shows them: a customer's accounts
(one per currency, `query: "currency_code:USD"`) and their transactions, newest last unless
`reverse`, filterable by `type:credit` like Shopify's search syntax."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from app.devstore.graph import connection, money, user_error
from app.devstore.state import ShopState, gid, next_id

TYPE_FILTER = {"credit": "StoreCreditAccountCreditTransaction", "debit": "StoreCreditAccountDebitTransaction"}


def _query_term(query: str | None, name: str) -> str | None:
    for term in (query or "").split():
        key, _, value = term.partition(":")
        if key == name and value:
            return value.strip("'\"")
    return None


def _kind(transaction: dict) -> str:
    return TYPE_FILTER[transaction.get("type", "credit")]


def _transaction_node(account: dict, transaction: dict) -> dict[str, Any]:
    currency = account["currency"]
    if _kind(transaction) == "StoreCreditAccountDebitTransaction":
        return _debit_node(account, transaction)
    return {"__typename": "StoreCreditAccountCreditTransaction",
            "id": gid("StoreCreditAccountCreditTransaction", transaction["id"]),
            "amount": money(transaction["amount"], currency), "createdAt": transaction["at"],
            "expiresAt": transaction["expires_at"], "remainingAmount": money(transaction["amount"], currency),
            "balanceAfterTransaction": money(transaction.get("balance_after", transaction["amount"]), currency),
            "event": "ADJUSTMENT", "origin": None, "account": {"id": gid("StoreCreditAccount", account["id"]),
                                                              "balance": money(account["balance"], currency)}}


def account_node(account: dict) -> dict[str, Any]:
    def transactions(_info, first=None, after=None, last=None, before=None, query=None, reverse=False, **_):
        wanted = TYPE_FILTER.get(_query_term(query, "type") or "", "StoreCreditAccountCreditTransaction")
        records = [t for t in account["transactions"] if _kind(t) == wanted]
        records = list(reversed(records)) if reverse else records
        return connection(records, first=first, after=after, last=last, before=before,
                          to_node=lambda t: _transaction_node(account, t))

    return {"id": gid("StoreCreditAccount", account["id"]), "transactions": transactions,
            "balance": money(Decimal(account["balance"]), account["currency"])}


def customer_accounts(shop: ShopState, customer_id: int):
    """The resolver of Customer.storeCreditAccounts."""
    def resolve(_info, first=None, after=None, last=None, before=None, query=None, **_):
        currency = _query_term(query, "currency_code")
        accounts = [a for a in shop["store_credit_accounts"].values() if a["customer_id"] == customer_id
                    and (currency is None or a["currency"].upper() == currency.upper())]
        return connection(accounts, first=first, after=after, last=last, before=before, to_node=account_node)
    return resolve


def _debit_node(account: dict, transaction: dict) -> dict[str, Any]:
    currency = account["currency"]
    # Shopify shows a debit's amount as a negative sum of money.
    return {"__typename": "StoreCreditAccountDebitTransaction",
            "id": gid("StoreCreditAccountDebitTransaction", transaction["id"]),
            "amount": money(-Decimal(transaction["amount"]), currency), "createdAt": transaction["at"],
            "balanceAfterTransaction": money(transaction["balance_after"], currency), "event": "ADJUSTMENT",
            "origin": None, "account": {"id": gid("StoreCreditAccount", account["id"]),
                                        "balance": money(account["balance"], currency)}}


def debit_errors(shop: ShopState, owner_id: str, by_customer: bool, debit_input: dict) -> tuple[list[dict], dict | None]:
    """storeCreditAccountDebit's refusals: no account (a debit never opens one), a zero or
    negative amount, another currency, more than the balance (store credit never goes below 0)."""
    def error(field: list[str], code: str, message: str):
        return [user_error(field, code, message, extra_info=False)], None

    wanted = debit_input["debitAmount"]
    accounts = shop["store_credit_accounts"].values()
    def owned(a: dict) -> bool:
        if by_customer:
            return str(a["customer_id"]) == owner_id and a["currency"] == wanted["currencyCode"]
        return str(a["id"]) == owner_id

    account = next((a for a in accounts if owned(a)), None)
    if account is None:
        return error(["id"], "ACCOUNT_NOT_FOUND", "Store credit account does not exist")
    try:
        amount = Decimal(wanted["amount"])
    except InvalidOperation:
        amount = Decimal(0)
    if amount <= 0:
        return error(["debitInput", "debitAmount", "amount"], "NEGATIVE_OR_ZERO_AMOUNT",
                     "A positive amount must be used to debit a store credit account")
    if wanted["currencyCode"] != account["currency"]:
        return error(["debitInput", "debitAmount", "currencyCode"], "MISMATCHING_CURRENCY",
                     "The currency provided does not match the currency of the store credit account")
    if amount > Decimal(account["balance"]):
        return error(["debitInput", "debitAmount", "amount"], "INSUFFICIENT_FUNDS",
                     "The store credit account does not have sufficient funds to satisfy the request")
    return [], account


def debit(shop: ShopState, account: dict, debit_input: dict, at: str) -> dict[str, Any]:
    amount = Decimal(debit_input["debitAmount"]["amount"])
    account["balance"] = str(Decimal(account["balance"]) - amount)
    transaction = {"id": next_id(shop, "StoreCreditAccountDebitTransaction"), "type": "debit", "amount": str(amount),
                   "at": at, "expires_at": None, "balance_after": account["balance"]}
    account["transactions"].append(transaction)
    return _debit_node(account, transaction)
