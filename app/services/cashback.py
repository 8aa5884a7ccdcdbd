"""Cashback as Shopify store credit: recorded with the order's settlement, paid by a saga.

Recording (record_order_cashback) runs inside the order batch's transaction: the planner
(loyalty.cashback.plan_cashback) decides the order's payouts and each is inserted under its
key, so a delivery seen twice records nothing new. Paying (pay_due_cashback, a periodic job)
talks to Shopify outside any write transaction, one payout at a time:

1. claim: a lease on the payout row (compare-and-set), its amount fixed on the first attempt
   (a credit nets the refunds recorded before it was paid; a debit is limited to the balance
   read from Shopify, so store credit never goes below zero and the rest is a shortfall);
2. call storeCreditAccountCredit / storeCreditAccountDebit once. Neither has an idempotency key,
   so after an ambiguous answer (a timeout, a 5xx after sending) - or on any later attempt - the
   account's recent transactions are read back first and the payout is paid only if its
   transaction is not there: never re-sent blindly;
3. mark it paid (or failed when Shopify refuses, with Shopify's words).
A debit waits for its order's credit to be paid; a credit that refunds cancelled entirely is
`netted` and never reaches Shopify.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from app.loyalty.cashback import (CashbackTerms, Payout, limit_debit_to_balance, net_credit_minor, plan_cashback)
from app.loyalty.money import exponent, to_decimal, to_minor
from app.loyalty.program import Program
from app.loyalty.settlement import earning_trigger_met
from app.models import CashbackPayout, Member, Order, Redemption, Refund, Shop
from app.services.order_settlement import refund_facts, settled_facts
from app.services.set_sql import among, insert_rows
from app.shopify.admin_access import AdminAccess, ShopNeedsReauth, call_admin
from app.shopify.discounts import customer_gid
from app.shopify.documents import CREDIT_STORE_CREDIT, DEBIT_STORE_CREDIT, STORE_CREDIT_CREDITS, STORE_CREDIT_DEBITS
from app.shopify.graphql import ShopifyError, ShopifyOutcomeUnknown, ShopifyUserErrors
from app.shopify.oauth import OAuthError

log = logging.getLogger(__name__)
# Longer than one Shopify call sequence (retries and backoff): an older lease was abandoned.
LEASE = timedelta(minutes=2)
# Shopify stamps a transaction with its own clock; look a little before our first attempt.
CLOCK_SKEW = timedelta(minutes=1)
BATCH = 200


# ---- recording, within the order batch's transaction ----------------------------------------

def record_order_cashback(session: Session, shop: Shop, orders: list[Order], program: Program, *,
                          now: datetime) -> int:
    """Record the payouts the orders' facts call for (their credit, refund debits, reversal).
    Returns how many were recorded. Orders of a shop without cashback record nothing, but a
    refund still takes back what an order earned while cashback was on."""
    orders = [o for o in orders if o.member_id is not None and not o.is_test]
    if not orders:
        return 0
    recorded = _recorded_payouts(session, shop, [o.order_id for o in orders])
    if not program.cashback.enabled and not recorded:
        return 0
    refunds = _refunds_of(session, shop, [o.order_id for o in orders])
    blocked = _blocked_members(session, shop, {o.member_id for o in orders})
    rows = []
    for order in orders:
        facts = settled_facts(order, refunds.get(order.order_id, []))
        terms = CashbackTerms(program.cashback, program.earning.base, program.earning.pending_days,
                              earning_trigger_met(program, paid=facts.paid, fulfilled=facts.fulfilled),
                              order.member_id in blocked)
        planned = plan_cashback(facts, terms, tuple(recorded.get(order.order_id, [])), now=now)
        rows += [_payout_row(shop, order, p, now) for p in planned]
    insert_rows(session, CashbackPayout.__table__, rows, conflict=("shop_id", "payout_key"))
    return len(rows)


def _recorded_payouts(session: Session, shop: Shop, order_ids: list[int]) -> dict[int, list[Payout]]:
    recorded: dict[int, list[Payout]] = {}
    for row in session.scalars(select(CashbackPayout).where(
            CashbackPayout.shop_id == shop.id, among(session, CashbackPayout.order_id, order_ids))
            .order_by(CashbackPayout.id)):
        recorded.setdefault(row.order_id, []).append(Payout(
            row.payout_key, row.kind, row.amount_minor, row.reason, row.due_at, row.refund_id, row.base_minor))
    return recorded


def _refunds_of(session: Session, shop: Shop, order_ids: list[int]) -> dict[int, list]:
    refunds: dict[int, list] = {}
    for refund in session.scalars(select(Refund).where(Refund.shop_id == shop.id,
                                                       among(session, Refund.order_id, order_ids))):
        refunds.setdefault(refund.order_id, []).append(refund_facts(refund))
    return refunds


def _blocked_members(session: Session, shop: Shop, member_ids: set[int]) -> set[int]:
    return set(session.scalars(select(Member.id).where(Member.shop_id == shop.id, Member.id.in_(member_ids),
                                                       Member.blocked_at.is_not(None))))


def _payout_row(shop: Shop, order: Order, payout: Payout, now: datetime) -> dict[str, Any]:
    return {"shop_id": shop.id, "member_id": order.member_id, "order_id": order.order_id,
            "payout_key": payout.key, "kind": payout.kind, "refund_id": payout.refund_id,
            "amount_minor": payout.amount_minor, "base_minor": payout.base_minor, "paid_minor": 0,
            "shortfall_minor": 0, "currency": order.currency, "status": "pending", "reason": payout.reason,
            "due_at": payout.due_at or now, "shopify_transaction_id": None, "failure_reason": None,
            "first_attempt_at": None, "lease_until": None, "paid_at": None, "created_at": now, "updated_at": now}


# ---- paying, outside write transactions --------------------------------------------------------

def pay_due_cashback(session_scope: Callable, shopify: AdminAccess, now: datetime) -> int:
    """Pay every due payout of every shop (credits before debits, oldest first). Returns how
    many were settled (paid, netted or refused) in this run."""
    with session_scope(read_only=True) as session:
        due = session.execute(select(CashbackPayout.id, CashbackPayout.shop_id).join(
            Shop, Shop.id == CashbackPayout.shop_id).where(
            # A shop that uninstalled or must reconnect is paid once it is back (the rows wait).
            Shop.uninstalled_at.is_(None), Shop.reauth_required_at.is_(None),
            CashbackPayout.status == "pending", CashbackPayout.due_at <= now,
            or_(CashbackPayout.lease_until.is_(None), CashbackPayout.lease_until < now))
            .order_by(CashbackPayout.kind, CashbackPayout.id).limit(BATCH)).all()
    settled = 0
    for payout_id, shop_id in due:
        with session_scope() as session:
            settled += pay_payout(session, shopify, shop_id, payout_id, now=now)
    return settled


def pay_payout(session: Session, shopify: AdminAccess, shop_id: int, payout_id: int, *, now: datetime) -> bool:
    """One payout's saga; True when it left `pending`."""
    payout = session.scalar(select(CashbackPayout).where(CashbackPayout.shop_id == shop_id,
                                                         CashbackPayout.id == payout_id))
    if payout is None or payout.status != "pending":
        return False
    shop, member = session.get(Shop, shop_id), session.get(Member, payout.member_id)
    if payout.kind == "debit" and not _debit_ready(session, payout, now):
        return payout.status != "pending"
    tried_before = _claim(session, payout, now)
    if tried_before is None:
        return False
    try:
        if payout.kind == "credit":
            _pay_credit(session, shopify, shop, member, payout, tried_before, now)
        else:
            _pay_debit(session, shopify, shop, member, payout, tried_before, now)
    except ShopifyUserErrors as exc:
        if "INSUFFICIENT_FUNDS" in exc.codes:  # spent since the balance was read: read it again
            session.rollback()
            _release(session, payout)
        else:
            _settle(session, payout, "failed", now, failure_reason=f"Shopify refused: {exc}")
    except ShopifyOutcomeUnknown as exc:
        log.warning("cashback payout %s: outcome unknown, read back on the next run: %s", payout.id, exc)
        session.rollback()
    except (ShopifyError, ShopNeedsReauth, OAuthError) as exc:
        log.warning("cashback payout %s: Shopify unavailable, retried later: %s", payout.id, exc)
        session.rollback()
        _release(session, payout)
    return payout.status != "pending"


def _claim(session: Session, payout: CashbackPayout, now: datetime) -> bool | None:
    """The lease (one writer at Shopify per payout); whether an earlier attempt may have landed.
    A credit's amount is fixed on its first attempt: the refunds recorded so far are netted."""
    tried_before = payout.first_attempt_at is not None
    values: dict[str, Any] = {"lease_until": now + LEASE, "updated_at": now,
                              "first_attempt_at": func.coalesce(CashbackPayout.first_attempt_at, now)}
    if payout.kind == "credit" and not tried_before:
        values["paid_minor"] = _net_of_refunds(session, payout, now)
    taken = session.execute(update(CashbackPayout).where(
        CashbackPayout.shop_id == payout.shop_id, CashbackPayout.id == payout.id, CashbackPayout.status == "pending",
        or_(CashbackPayout.lease_until.is_(None), CashbackPayout.lease_until < now))
        .values(**values).execution_options(synchronize_session=False)).rowcount == 1
    if not taken:
        session.rollback()
        return None
    session.commit()
    session.refresh(payout)
    session.commit()  # no transaction stays open while Shopify answers
    return tried_before


def _net_of_refunds(session: Session, credit: CashbackPayout, now: datetime) -> int:
    """Refund debits recorded before the credit is paid are folded into it (netted)."""
    debits = session.scalars(select(CashbackPayout).where(
        CashbackPayout.shop_id == credit.shop_id, CashbackPayout.order_id == credit.order_id,
        CashbackPayout.kind == "debit", CashbackPayout.status == "pending")).all()
    for debit in debits:
        debit.status, debit.paid_minor, debit.paid_at, debit.updated_at = "netted", 0, now, now
    return net_credit_minor(credit.amount_minor, [d.amount_minor for d in debits])


def _debit_ready(session: Session, debit: CashbackPayout, now: datetime) -> bool:
    """A debit goes to Shopify only after its credit was paid; with a credit that never will
    be, nothing was given and there is nothing to take."""
    credit_status = session.scalar(select(CashbackPayout.status).where(
        CashbackPayout.shop_id == debit.shop_id, CashbackPayout.order_id == debit.order_id,
        CashbackPayout.kind == "credit"))
    if credit_status in ("netted", "failed", None):
        _settle(session, debit, "netted", now)
        return False
    session.commit()
    return credit_status == "paid"


def _pay_credit(session: Session, shopify: AdminAccess, shop: Shop, member: Member, payout: CashbackPayout,
                tried_before: bool, now: datetime) -> None:
    if payout.paid_minor <= 0:
        _settle(session, payout, "netted", now)
        return
    money = {"amount": _amount(payout.paid_minor, payout.currency), "currencyCode": payout.currency}
    if tried_before and (found := _landed(session, shopify, shop, member, payout, STORE_CREDIT_CREDITS)):
        _settle(session, payout, "paid", now, shopify_transaction_id=found)
        return
    data = _send(session, shopify, shop, payout, CREDIT_STORE_CREDIT,
                 {"id": customer_gid(member.customer_id), "creditInput": {"creditAmount": money}})
    transaction = data["storeCreditAccountCredit"]["storeCreditAccountTransaction"]
    _settle(session, payout, "paid", now, shopify_transaction_id=transaction["id"])


def _pay_debit(session: Session, shopify: AdminAccess, shop: Shop, member: Member, payout: CashbackPayout,
               tried_before: bool, now: datetime) -> None:
    account = _account(session, shopify, shop, member, payout.currency, STORE_CREDIT_DEBITS)
    if tried_before and payout.paid_minor and (found := _ours(session, payout, account)):
        _settle(session, payout, "paid", now, shopify_transaction_id=found)
        return
    split = limit_debit_to_balance(payout.amount_minor, _balance_minor(account, payout.currency))
    _fix_amount(session, payout, split.debit_minor, split.shortfall_minor)
    if split.debit_minor == 0:
        _settle(session, payout, "paid", now)  # all of it already spent: a shortfall, no call
        return
    money = {"amount": _amount(split.debit_minor, payout.currency), "currencyCode": payout.currency}
    data = _send(session, shopify, shop, payout, DEBIT_STORE_CREDIT,
                 {"id": customer_gid(member.customer_id), "debitInput": {"debitAmount": money}})
    transaction = data["storeCreditAccountDebit"]["storeCreditAccountTransaction"]
    _settle(session, payout, "paid", now, shopify_transaction_id=transaction["id"])


def _send(session: Session, shopify: AdminAccess, shop: Shop, payout: CashbackPayout, document,
          variables: dict) -> dict:
    """The mutation, once: an ambiguous answer is read back before anything is sent again."""
    try:
        return call_admin(shopify, session, shop, document, variables, retry_ambiguous=False)
    except ShopifyOutcomeUnknown:
        member = session.get(Member, payout.member_id)
        reader = STORE_CREDIT_CREDITS if payout.kind == "credit" else STORE_CREDIT_DEBITS
        found = _landed(session, shopify, shop, member, payout, reader)
        if found is None:
            raise
        return {document.root_field: {"storeCreditAccountTransaction": {"id": found}}}


def _landed(session: Session, shopify: AdminAccess, shop: Shop, member: Member, payout: CashbackPayout,
            reader) -> str | None:
    return _ours(session, payout, _account(session, shopify, shop, member, payout.currency, reader))


def _account(session: Session, shopify: AdminAccess, shop: Shop, member: Member, currency: str,
             reader) -> dict | None:
    data = call_admin(shopify, session, shop, reader, {"customerId": customer_gid(member.customer_id),
                                                       "accountQuery": f"currency_code:{currency}"})
    session.commit()
    accounts = (((data.get("customer") or {}).get("storeCreditAccounts") or {}).get("nodes")) or []
    return accounts[0] if accounts else None


def _ours(session: Session, payout: CashbackPayout, account: dict | None) -> str | None:
    """This payout's transaction in the account read back: same amount (a debit reads negative),
    made after our first attempt, and not already another payout's or redemption's."""
    if account is None:
        return None
    wanted_type = "StoreCreditAccountCreditTransaction" if payout.kind == "credit" else \
        "StoreCreditAccountDebitTransaction"
    nodes = [n for n in account["transactions"]["nodes"] if n.get("__typename") == wanted_type]
    taken = _taken_ids(session, payout, [n["id"] for n in nodes])
    since = payout.first_attempt_at - CLOCK_SKEW
    for node in nodes:
        amount = abs(to_minor(node["amount"]["amount"], node["amount"]["currencyCode"]))
        created = datetime.fromisoformat(node["createdAt"].replace("Z", "+00:00"))
        if node["id"] not in taken and amount == payout.paid_minor and created >= since:
            return node["id"]
    return None


def _taken_ids(session: Session, payout: CashbackPayout, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    taken = set(session.scalars(select(CashbackPayout.shopify_transaction_id).where(
        CashbackPayout.shop_id == payout.shop_id, CashbackPayout.id != payout.id,
        CashbackPayout.shopify_transaction_id.in_(ids))))
    taken |= set(session.scalars(select(Redemption.shopify_discount_id).where(
        Redemption.shop_id == payout.shop_id, Redemption.shopify_discount_id.in_(ids))))
    session.commit()
    return taken


def _balance_minor(account: dict | None, currency: str) -> int:
    if account is None:
        return 0  # no account: nothing was ever credited in this currency
    return to_minor(account["balance"]["amount"], currency)


def _amount(amount_minor: int, currency: str) -> str:
    return f"{to_decimal(amount_minor, currency):.{exponent(currency)}f}"


def _fix_amount(session: Session, payout: CashbackPayout, debit_minor: int, shortfall_minor: int) -> None:
    """Committed before the call: a later attempt reads back exactly this amount."""
    payout.paid_minor, payout.shortfall_minor = debit_minor, shortfall_minor
    session.commit()


def _settle(session: Session, payout: CashbackPayout, status: str, now: datetime, **values: Any) -> None:
    changed = session.execute(update(CashbackPayout).where(
        CashbackPayout.shop_id == payout.shop_id, CashbackPayout.id == payout.id, CashbackPayout.status == "pending")
        .values(status=status, lease_until=None, updated_at=now, paid_at=now if status != "failed" else None,
                **values).execution_options(synchronize_session=False)).rowcount == 1
    session.commit()
    session.refresh(payout)
    session.commit()
    if not changed:
        log.warning("cashback payout %s was settled by another run meanwhile", payout.id)


def _release(session: Session, payout: CashbackPayout) -> None:
    session.execute(update(CashbackPayout).where(
        CashbackPayout.shop_id == payout.shop_id, CashbackPayout.id == payout.id, CashbackPayout.status == "pending")
        .values(lease_until=None).execution_options(synchronize_session=False))
    session.commit()
