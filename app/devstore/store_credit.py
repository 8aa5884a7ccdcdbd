"""Store credit accounts in the stand-in, as the Admin API shows them: a customer's accounts
(one per currency, `query: "currency_code:USD"`) and their transactions, newest last unless
`reverse`, filterable by `type:credit` like Shopify's search syntax."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.devstore.graph import connection, money
from app.devstore.state import ShopState, gid

TYPE_FILTER = {"credit": "StoreCreditAccountCreditTransaction"}


def _query_term(query: str | None, name: str) -> str | None:
    for term in (query or "").split():
        key, _, value = term.partition(":")
        if key == name and value:
            return value.strip("'\"")
    return None


def _transaction_node(account: dict, transaction: dict) -> dict[str, Any]:
    currency = account["currency"]
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
        records = [t for t in account["transactions"] if wanted == "StoreCreditAccountCreditTransaction"]
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
