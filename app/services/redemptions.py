"""Redemptions: points -> a Shopify discount code (or store credit), as a saga.

1. hold: lock the member, check the reward and the balance, write the redemption (pending, with
   its code) and the `redeem` ledger entry - one transaction;
2. create the code in Shopify (the client retries throttling, 429, 5xx and timeouts);
3. post: mark it issued - or, if Shopify refused or stayed down, give the points back with a
   reversing entry and tell the member.
The caller's idempotency key makes a retried request answer with the same code, never a second
one. A crash between 1 and 3 leaves a pending row that is resumed (the code is looked up in
Shopify before anything is created again).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.loyalty.errors import InvalidInput, RedemptionFailed
from app.loyalty.ledger import EntryKind, redemption_debit_key, redemption_return_key
from app.loyalty.rewards import RedemptionTerms, check_redeemable, new_code, terms_for
from app.models import LedgerEntry, Member, Order, Redemption, Reward, Shop
from app.services import shops
from app.services.ledger import NewEntry, balance_of, entry_by_key, lock_member, post_entry
from app.services.members import get_or_create_member
from app.services.program import current_program
from app.services.rewards import find_reward, spec_of
from app.shopify.discounts import (created_discount_id, discount_request, store_credit_request,
                                   store_credit_transaction_id)
from app.shopify.documents import DEACTIVATE_DISCOUNT_CODE, DISCOUNT_BY_CODE
from app.shopify.graphql import ShopifyError, ShopifyUserErrors
from app.shopify.oauth import OAuthError

if TYPE_CHECKING:
    from app.runtime import Tessera

log = logging.getLogger(__name__)
CODE_ATTEMPTS = 3
OPEN_STATUSES = ("pending", "issued", "used")
# A pending redemption older than this was abandoned by a crashed request or worker.
STALE_PENDING = timedelta(minutes=2)
# Orders can reach us a little after a code's end date; wait before treating it as unused.
EXPIRY_GRACE = timedelta(days=1)


@dataclass(frozen=True)
class RedemptionResult:
    redemption: Redemption
    balance: int


def _idempotency_key(value: Any) -> str:
    if not isinstance(value, str) or not 8 <= len(value) <= 128:
        raise InvalidInput("Send an idempotency_key (8-128 characters) so a retried click never redeems twice.",
                           {"idempotency_key": "8-128 characters, new for each redemption"})
    return value


def _existing(session: Session, member: Member, key: str) -> Redemption | None:
    return session.scalar(select(Redemption).where(Redemption.shop_id == member.shop_id,
                                                   Redemption.member_id == member.id,
                                                   Redemption.idempotency_key == key))


def _times_redeemed(session: Session, member: Member, reward: Reward) -> int:
    return session.scalar(select(func.count()).select_from(Redemption).where(
        Redemption.shop_id == member.shop_id, Redemption.member_id == member.id, Redemption.reward_id == reward.id,
        Redemption.status.in_(OPEN_STATUSES)))


def _open_redemption(session: Session, shop: Shop, member: Member | None, *, key: str, terms: RedemptionTerms,
                     purpose: str, reward: Reward | None, prefix: str | None, now: datetime) -> Redemption:
    redemption = Redemption(
        shop_id=shop.id, member_id=member.id if member else None, reward_id=reward.id if reward else None,
        idempotency_key=key, purpose=purpose, status="pending", points_spent=terms.points, kind=terms.kind,
        value=terms.value, currency=terms.currency, terms=terms.to_json(), created_at=now, updated_at=now,
        code=None if terms.kind == "store_credit" else new_code(prefix),
        expires_at=now + timedelta(days=terms.expiry_days) if terms.expiry_days else None)
    session.add(redemption)
    session.flush()
    return redemption


def hold_points(session: Session, shop: Shop, customer_id: int, reward_id: Any, key: str, *, now: datetime,
                points: int | None = None) -> Redemption:
    """Phase 1. Returns the existing redemption for a key already used."""
    member = get_or_create_member(session, shop, customer_id, now=now)
    lock_member(session, member)
    existing = _existing(session, member, key)
    if existing is not None:
        session.commit()
        return existing
    reward = find_reward(session, shop, reward_id)
    spec = spec_of(reward)
    terms = terms_for(spec, shop.currency, points)
    check_redeemable(spec, tier_key=member.tier_key, blocked=member.blocked_at is not None,
                     balance=balance_of(session, member, now).balance, points=terms.points,
                     redeemed_before=_times_redeemed(session, member, reward))
    redemption = _open_redemption(session, shop, member, key=key, terms=terms, purpose="reward", reward=reward,
                                  prefix=reward.code_prefix, now=now)
    what = f"code {redemption.code}" if redemption.code else f"{terms.currency} {terms.value} store credit"
    post_entry(session, member, NewEntry(
        key=redemption_debit_key(redemption.id), kind=EntryKind.REDEEM, points=-terms.points,
        cause_type="redemption", cause_id=str(redemption.id), reason=f"Redeemed {reward.name} ({what})"), now=now)
    member.last_activity_at = now
    session.commit()
    return redemption


def redeem_reward(t: "Tessera", shop_id: int, customer_id: int, reward_id: Any, idempotency_key: Any, *,
                  points: int | None = None) -> RedemptionResult:
    key = _idempotency_key(idempotency_key)
    with t.db.scope() as session:
        shop = session.get(Shop, shop_id)
        redemption = hold_points(session, shop, customer_id, reward_id, key, now=t.clock(), points=points)
        if redemption.status == "pending":
            issue(t, session, shop, redemption)
        if redemption.status == "failed":
            raise RedemptionFailed(redemption.failure_reason)
        member = session.get(Member, redemption.member_id)
        return RedemptionResult(redemption, balance_of(session, member, t.clock()).balance)


def _title(redemption: Redemption, reward_name: str) -> str:
    # "Tessera #id" identifies our own code if Shopify says the code is already taken.
    return f"{reward_name} - Tessera #{redemption.id}"


def _ours(t: "Tessera", session: Session, shop: Shop, redemption: Redemption) -> str | None:
    """The discount id if Shopify already holds this redemption's code (a resumed saga)."""
    node = shops.call_admin(t, session, shop, DISCOUNT_BY_CODE, {"code": redemption.code})["codeDiscountNode"]
    title = ((node or {}).get("codeDiscount") or {}).get("title") or ""
    return node["id"] if node and title.endswith(f"Tessera #{redemption.id}") else None


def _create_in_shopify(t: "Tessera", session: Session, shop: Shop, redemption: Redemption, customer_id: int | None,
                       name: str) -> str:
    terms = _terms(redemption)
    if terms.kind == "store_credit":
        request = store_credit_request(terms, customer_id=customer_id, now=t.clock())
        return store_credit_transaction_id(shops.call_admin(t, session, shop, request.document, request.variables))
    for attempt in range(1, CODE_ATTEMPTS + 1):
        request = discount_request(terms, code=redemption.code, title=_title(redemption, name),
                                   customer_id=customer_id, now=redemption.created_at)
        try:
            data = shops.call_admin(t, session, shop, request.document, request.variables)
            return created_discount_id(data, request.payload_field)
        except ShopifyUserErrors as exc:
            if "TAKEN" not in exc.codes or attempt == CODE_ATTEMPTS:
                raise
            discount_id = _ours(t, session, shop, redemption)
            if discount_id:
                return discount_id
            redemption.code = new_code(redemption.code.split("-")[0] if "-" in redemption.code else None)
            session.commit()
    raise AssertionError("unreachable")


def _terms(redemption: Redemption) -> RedemptionTerms:
    data = redemption.terms
    return RedemptionTerms(kind=data["kind"], points=data["points"],
                           value=Decimal(data["value"]) if data["value"] is not None else None,
                           currency=data["currency"],
                           min_subtotal=Decimal(data["min_subtotal"]) if data["min_subtotal"] else None,
                           expiry_days=data["expiry_days"], combines_with=data["combines_with"],
                           variant_id=data["variant_id"], single_use=data.get("single_use", True))


def issue(t: "Tessera", session: Session, shop: Shop, redemption: Redemption) -> None:
    """Phases 2 and 3 for a pending redemption (also used to resume an abandoned one)."""
    member = session.get(Member, redemption.member_id) if redemption.member_id else None
    reward = session.get(Reward, redemption.reward_id) if redemption.reward_id else None
    name = reward.name if reward else redemption.purpose.replace("_", " ").title()
    try:
        discount_id = _create_in_shopify(t, session, shop, redemption, member.customer_id if member else None, name)
    except (ShopifyError, shops.ShopNeedsReauth, OAuthError) as exc:
        session.rollback()
        give_back(session, redemption, why="failed", reason=_failure_text(exc, redemption), now=t.clock())
        return
    redemption.status, redemption.shopify_discount_id, redemption.issued_at = "issued", discount_id, t.clock()
    session.commit()


def _failure_text(exc: Exception, redemption: Redemption) -> str:
    log.warning("redemption %s failed at Shopify: %s", redemption.id, exc)
    back = f" Your {redemption.points_spent} points are back." if redemption.points_spent else ""
    if isinstance(exc, shops.ShopNeedsReauth):
        return "The store needs to reconnect Tessera before codes can be created." + back
    if isinstance(exc, ShopifyUserErrors):
        return f"Shopify did not accept the code ({exc}).{back} Please contact the store."
    return "We could not create your code just now." + back + " Please try again in a few minutes."


def give_back(session: Session, redemption: Redemption, *, why: str, reason: str, now: datetime,
              status: str = "failed") -> None:
    """Undo a redemption's debit with a reversing entry (never by editing the debit)."""
    member = session.get(Member, redemption.member_id) if redemption.member_id else None
    if member is not None and redemption.points_spent:
        lock_member(session, member)
        debit = entry_by_key(session, redemption.shop_id, redemption_debit_key(redemption.id))
        post_entry(session, member, NewEntry(
            key=redemption_return_key(redemption.id, why), kind=EntryKind.REVERSAL, points=redemption.points_spent,
            cause_type="redemption", cause_id=str(redemption.id), reason=_return_reason(redemption, why),
            reverses_entry_id=debit.id if debit else None), now=now)
    redemption.status, redemption.failure_reason = status, reason
    session.commit()


def _return_reason(redemption: Redemption, why: str) -> str:
    code = f"code {redemption.code}" if redemption.code else "store credit"
    return {"failed": f"Points back: {code} could not be created",
            "expired": f"Points back: {code} expired unused",
            "reward_deleted": f"Points back: the reward was withdrawn and {code} deactivated"}.get(
        why, f"Points back for {code}")


def issue_free_code(t: "Tessera", shop_id: int, member_id: int | None, *, key: str, terms: RedemptionTerms,
                    purpose: str, prefix: str | None) -> Redemption:
    """A code that costs no points: tier entry rewards, referral welcome discounts."""
    with t.db.scope() as session:
        shop = session.get(Shop, shop_id)
        member = session.get(Member, member_id) if member_id else None
        existing = session.scalar(select(Redemption).where(
            Redemption.shop_id == shop.id, Redemption.idempotency_key == key,
            Redemption.member_id == member_id if member_id else Redemption.member_id.is_(None)))
        redemption = existing or _open_redemption(session, shop, member, key=key, terms=terms, purpose=purpose,
                                                  reward=None, prefix=prefix, now=t.clock())
        session.commit()
        if redemption.status == "pending":
            issue(t, session, shop, redemption)
        return redemption


def resume_stale_redemptions(t: "Tessera") -> int:
    """Pending redemptions abandoned by a crash are finished (or their points given back)."""
    with t.db.scope(read_only=True) as session:
        stale = session.execute(select(Redemption.id, Redemption.shop_id).where(
            Redemption.status == "pending", Redemption.created_at < t.clock() - STALE_PENDING)).all()
    for redemption_id, shop_id in stale:
        with t.db.scope() as session:
            redemption = session.get(Redemption, redemption_id)
            if redemption.status == "pending":
                issue(t, session, session.get(Shop, shop_id), redemption)
    return len(stale)


def expire_unused_codes(t: "Tessera") -> int:
    """Codes past their end date (and a day's grace for late orders) are expired; their points
    come back if the owner chose so."""
    cutoff = t.clock() - EXPIRY_GRACE
    with t.db.scope(read_only=True) as session:
        due = session.execute(select(Redemption.id, Redemption.shop_id).where(
            Redemption.status == "issued", Redemption.expires_at < cutoff)).all()
    for redemption_id, shop_id in due:
        with t.db.scope() as session:
            redemption, shop = session.get(Redemption, redemption_id), session.get(Shop, shop_id)
            _, program = current_program(session, shop)
            if program.clawback.return_points_for_expired_codes and redemption.purpose == "reward":
                give_back(session, redemption, why="expired", reason="expired unused", now=t.clock(),
                          status="expired")
            else:
                redemption.status = "expired"
                session.commit()
    return len(due)


def deactivate_reward_codes(t: "Tessera", shop_id: int, reward_id: int) -> int:
    """A withdrawn reward's open codes are deactivated in Shopify and their points returned."""
    with t.db.scope(read_only=True) as session:
        ids = session.scalars(select(Redemption.id).where(Redemption.shop_id == shop_id,
                                                          Redemption.reward_id == reward_id,
                                                          Redemption.status == "issued")).all()
    for redemption_id in ids:
        with t.db.scope() as session:
            redemption, shop = session.get(Redemption, redemption_id), session.get(Shop, shop_id)
            if redemption.shopify_discount_id and redemption.kind != "store_credit":
                shops.call_admin(t, session, shop, DEACTIVATE_DISCOUNT_CODE, {"id": redemption.shopify_discount_id})
            give_back(session, redemption, why="reward_deleted", reason="reward withdrawn", now=t.clock(),
                      status="deactivated")
    return len(ids)


def note_codes_on_order(session: Session, shop: Shop, order: Order, member: Member | None, *, now: datetime) -> None:
    """A reward code seen in an order is used. If that order is later cancelled or fully
    refunded, the points spent on the code come back (the owner's choice; on by default)."""
    codes = [c.upper() for c in order.discount_codes or []]
    if not codes:
        return
    used = session.scalars(select(Redemption).where(Redemption.shop_id == shop.id, Redemption.code.in_(codes))).all()
    for redemption in used:
        if redemption.status == "expired":
            _charge_again_if_returned(session, redemption, order, now)
        if redemption.status in ("issued", "expired"):
            redemption.status, redemption.used_at, redemption.used_order_id = "used", now, order.order_id
        if redemption.used_order_id == order.order_id and _order_void(order):
            _return_points_for_void_order(session, shop, order, redemption, now)


def _charge_again_if_returned(session: Session, redemption: Redemption, order: Order, now: datetime) -> None:
    """An order placed before the code ended can reach us after its points were returned."""
    member = session.get(Member, redemption.member_id) if redemption.member_id else None
    returned = session.scalar(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.shop_id == redemption.shop_id, LedgerEntry.entry_key == redemption_return_key(redemption.id,
                                                                                                  "expired")))
    if member is None or not returned:
        return
    lock_member(session, member)
    post_entry(session, member, NewEntry(
        key=f"redemption:{redemption.id}:late_use", kind=EntryKind.REDEEM, points=-redemption.points_spent,
        cause_type="redemption", cause_id=str(redemption.id),
        reason=f"Code {redemption.code} was used on order {order.name or order.order_id} after its points came back"),
        now=now)


def _order_void(order: Order) -> bool:
    return order.cancelled_at is not None or order.financial_status == "refunded"


def _return_points_for_void_order(session: Session, shop: Shop, order: Order, redemption: Redemption,
                                  now: datetime) -> None:
    _, program = current_program(session, shop)
    if not program.clawback.return_points_for_cancelled_reward_orders or not redemption.points_spent:
        return
    member = session.get(Member, redemption.member_id) if redemption.member_id else None
    if member is None:
        return
    lock_member(session, member)
    why = "cancelled" if order.cancelled_at is not None else "refunded in full"
    post_entry(session, member, NewEntry(
        key=redemption_return_key(redemption.id, "order_void"), kind=EntryKind.REVERSAL,
        points=redemption.points_spent, cause_type="redemption", cause_id=str(redemption.id),
        reason=f"Order {order.name or order.order_id} {why}: the {redemption.points_spent} points spent on "
               f"code {redemption.code} come back"), now=now)
