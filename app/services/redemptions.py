"""Redemptions: points -> a Shopify discount code (or store credit), as a saga.

1. hold: lock the member, check the reward and the balance, write the redemption (pending, with
   its code) and the `redeem` ledger entry - one transaction;
2. create the code in Shopify (the client retries throttling, 429, 5xx and timeouts) - or
   credit store credit, which Shopify offers no idempotency key for: it is never resent blindly;
   after an ambiguous answer the customer's credits are read back to decide;
3. post: mark it issued - or, if Shopify refused or stayed down, give the points back with a
   reversing entry and tell the member.
The caller's idempotency key makes a retried request answer with the same code, never a second
one. A crash between 1 and 3 leaves a pending row that is resumed (the code is looked up in
Shopify before anything is created again).

Only the holder of a redemption's lease talks to Shopify, and every status change is a
compare-and-set (`UPDATE ... WHERE status = 'pending'`): whoever loses acts on nothing, so a code
is never live while its points are back. A shopper's request spends at most
REDEEM_DEADLINE_SECONDS on Shopify; past it the redemption stays pending for the worker.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from app.db import Database
from app.loyalty.errors import InvalidInput, NotFound, RedemptionFailed
from app.loyalty.ledger import EntryKind, redemption_debit_key, redemption_late_use_key, redemption_return_key
from app.loyalty.rewards import RedemptionTerms, check_redeemable, new_code, terms_for
from app.loyalty.wording import Reason, reason, reason_fields
from app.models import LedgerEntry, Member, Order, Redemption, Reward, Shop
from app.services import event_outbox
from app.services.cashback_reads import cashback_transactions
from app.services.households import check_pool_covers, lock_pool, post_pooled_debits, return_pooled_points
from app.services.ledger import NewEntry, balance_of, entry_by_key, lock_member, post_entry
from app.services.members import get_or_create_member
from app.services.memberships import check_members_only
from app.services.program import current_program
from app.services.rewards import find_reward, spec_of
from app.shopify.admin_access import AdminAccess, ShopNeedsReauth, call_admin
from app.shopify.discounts import (created_discount_id, credit_transactions, discount_request,
                                   is_our_credit, store_credit_request, store_credit_transaction_id, variant_gid)
from app.shopify.documents import (DEACTIVATE_DISCOUNT_CODE, DISCOUNT_BY_CODE, REWARD_VARIANT_PRICE,
                                   STORE_CREDIT_CREDITS)
from app.shopify.graphql import ShopifyDeadlineExceeded, ShopifyError, ShopifyOutcomeUnknown, ShopifyUserErrors
from app.shopify.oauth import OAuthError

log = logging.getLogger(__name__)
CODE_ATTEMPTS = 3
# A store credit is sent again only after reading back showed the first one did not land.
CREDIT_ATTEMPTS = 2
OPEN_STATUSES = ("pending", "issued", "used")
# Longer than any one Shopify call sequence (5 tries x 10 s + backoff): a lease this old was
# left by a crashed request or worker, and a pending redemption this old was abandoned.
LEASE = timedelta(minutes=2)
STALE_PENDING = LEASE
# Shopify stamps a credit with its own clock; look a little before our first attempt.
CLOCK_SKEW = timedelta(minutes=1)
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
                points: int | None = None, variant_price: Decimal | None = None,
                staff_user_id: str | None = None) -> Redemption:
    """Phase 1. Returns the existing redemption for a key already used."""
    member = get_or_create_member(session, shop, customer_id, now=now)
    pool = lock_pool(session, shop, member, now)  # a household's members spend from one pool
    if pool is None:
        lock_member(session, member)
    existing = _existing(session, member, key)
    if existing is not None:
        session.commit()
        return existing
    reward = find_reward(session, shop, reward_id)
    check_members_only(session, shop, member, reward, now)
    spec = spec_of(reward)
    terms = terms_for(spec, shop.currency, points, variant_price=variant_price)
    if pool is not None and member.blocked_at is None:
        check_pool_covers(pool, member, terms.points, reward.name)
    check_redeemable(spec, tier_key=member.tier_key, blocked=member.blocked_at is not None,
                     balance=pool.balance if pool else balance_of(session, member, now).balance, points=terms.points,
                     redeemed_before=_times_redeemed(session, member, reward))
    _require_audience(session, shop, member, reward, now)
    redemption = _open_redemption(session, shop, member, key=key, terms=terms, purpose="reward", reward=reward,
                                  prefix=reward.code_prefix, now=now)
    why = (reason("redemption.code", reward=reward.name, code=redemption.code) if redemption.code else
           reason("redemption.store_credit", reward=reward.name, currency=terms.currency, value=str(terms.value)))
    if pool is not None:
        post_pooled_debits(session, shop, pool, member, redemption, points=terms.points, reward_name=reward.name,
                           why=why, now=now)
    else:
        post_entry(session, member, NewEntry(
            key=redemption_debit_key(redemption.id), kind=EntryKind.REDEEM, points=-terms.points,
            cause_type="redemption", cause_id=str(redemption.id), staff_user_id=staff_user_id, **reason_fields(why)),
            now=now)
    member.last_activity_at = now
    session.commit()
    return redemption


def _require_audience(session: Session, shop: Shop, member: Member, reward: Reward, now: datetime) -> None:
    from app.loyalty.errors import RewardUnavailable
    from app.queries.segments import rewards_for_member
    if not rewards_for_member(session, shop, member, [reward], now=now):
        raise RewardUnavailable("This reward is offered to selected members only, and you are not among them "
                                "yet; choose another reward.")


def redeem_reward(db: Database, shop_id: int, customer_id: int, reward_id: Any, idempotency_key: Any, *,
                  admin: AdminAccess, queue: "Queue", clock: Clock, deadline_seconds: float,
                  points: int | None = None, staff_user_id: str | None = None) -> RedemptionResult:
    """The shopper's redemption (or staff's for them at POS: `staff_user_id` goes on the debit
    entry). Still `pending` in the result when Shopify did not finish within the request's time
    budget (`deadline_seconds`; the worker finishes it) or another request is finishing it."""
    key = _idempotency_key(idempotency_key)
    deadline = admin.monotonic() + deadline_seconds  # the budget is measured by the admin client's clock
    with db.scope() as session:
        shop = session.get(Shop, shop_id)
        price = _free_product_price(admin, session, shop, reward_id, deadline)
        redemption = hold_points(session, shop, customer_id, reward_id, key, now=clock(), points=points,
                                 variant_price=price, staff_user_id=staff_user_id)
        if redemption.status == "pending":
            issue(session, shop, redemption, admin=admin, queue=queue, clock=clock, deadline=deadline)
        if redemption.status == "failed":
            raise RedemptionFailed(redemption.failure_reason)
        member = session.get(Member, redemption.member_id)
        return RedemptionResult(redemption, balance_of(session, member, clock()).balance)


def finish_redemption(db: Database, shop_id: int, redemption_id: int, *, admin: AdminAccess, queue: "Queue",
                      clock: Clock) -> str | None:
    """The worker's part of a redemption the shopper's request ran out of time for."""
    with db.scope() as session:
        redemption = session.scalar(select(Redemption).where(Redemption.shop_id == shop_id,
                                                             Redemption.id == redemption_id))
        if redemption is not None and redemption.status == "pending":
            issue(session, session.get(Shop, shop_id), redemption, admin=admin, queue=queue, clock=clock)
        return redemption.status if redemption is not None else None


def _free_product_price(shopify: AdminAccess, session: Session, shop: Shop, reward_id: Any,
                        deadline: float) -> Decimal | None:
    """A free product's current price in Shopify, read before any points are held."""
    try:
        reward = find_reward(session, shop, reward_id)
    except NotFound:
        return None  # hold_points answers: the existing redemption of a retry, or 404
    if reward.kind != "free_product" or reward.variant_id is None:
        return None
    session.commit()  # no transaction stays open while Shopify answers
    try:
        data = call_admin(shopify, session, shop, REWARD_VARIANT_PRICE, {"id": variant_gid(reward.variant_id)},
                                deadline=deadline)
    except (ShopifyError, ShopNeedsReauth, OAuthError) as exc:
        log.warning("price of variant %s unavailable: %s", reward.variant_id, exc)
        raise RedemptionFailed("We could not check the product's price just now; no points were spent. "
                               "Please try again in a few minutes.") from exc
    variant = data.get("productVariant")
    return Decimal(variant["price"]) if variant and variant.get("price") is not None else None


def _title(redemption: Redemption, reward_name: str) -> str:
    # "Tessera #id" identifies our own code if Shopify says the code is already taken.
    return f"{reward_name} - Tessera #{redemption.id}"


def _ours(shopify: AdminAccess, session: Session, shop: Shop, redemption: Redemption,
          deadline: float | None) -> str | None:
    """The discount id if Shopify already holds this redemption's code (a resumed saga)."""
    node = call_admin(shopify, session, shop, DISCOUNT_BY_CODE, {"code": redemption.code},
                            deadline=deadline)["codeDiscountNode"]
    title = ((node or {}).get("codeDiscount") or {}).get("title") or ""
    return node["id"] if node and title.endswith(f"Tessera #{redemption.id}") else None


def _create_in_shopify(shopify: AdminAccess, session: Session, shop: Shop, redemption: Redemption,
                       customer_id: int | None, name: str, *, tried_before: bool, deadline: float | None) -> str:
    terms = _terms(redemption)
    if terms.kind == "store_credit":
        return _credit_once(shopify, session, shop, redemption, customer_id, tried_before=tried_before,
                            deadline=deadline)
    for attempt in range(1, CODE_ATTEMPTS + 1):
        request = discount_request(terms, code=redemption.code, title=_title(redemption, name),
                                   customer_id=customer_id, now=redemption.created_at)
        try:
            data = call_admin(shopify, session, shop, request.document, request.variables, deadline=deadline)
            return created_discount_id(data, request.payload_field)
        except ShopifyUserErrors as exc:
            if "TAKEN" not in exc.codes or attempt == CODE_ATTEMPTS:
                raise
            discount_id = _ours(shopify, session, shop, redemption, deadline)
            if discount_id:
                return discount_id
            redemption.code = new_code(redemption.code.split("-")[0] if "-" in redemption.code else None)
            session.commit()
    raise AssertionError("unreachable")


def _credit_once(shopify: AdminAccess, session: Session, shop: Shop, redemption: Redemption, customer_id: int, *,
                 tried_before: bool, deadline: float | None) -> str:
    """Store credit, exactly once: the mutation is never resent while an earlier one may have
    landed. After an ambiguous answer (or a crash), the customer's credits are read back."""
    request = store_credit_request(_terms(redemption), customer_id=customer_id, now=redemption.created_at)
    if tried_before and (found := _our_credit(shopify, session, shop, redemption, request.variables, deadline)):
        return found
    for attempt in range(1, CREDIT_ATTEMPTS + 1):
        try:
            data = call_admin(shopify, session, shop, request.document, request.variables, retry_ambiguous=False,
                                    deadline=deadline)
            return store_credit_transaction_id(data)
        except ShopifyOutcomeUnknown:
            if found := _our_credit(shopify, session, shop, redemption, request.variables, deadline):
                return found
            if attempt == CREDIT_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _our_credit(shopify: AdminAccess, session: Session, shop: Shop, redemption: Redemption, variables: dict[str, Any],
                deadline: float | None) -> str | None:
    """This redemption's credit transaction in Shopify, if one landed: same amount and expiry,
    made after our first attempt, and not already the credit of another redemption."""
    data = call_admin(shopify, session, shop, STORE_CREDIT_CREDITS, {
        "customerId": variables["id"], "accountQuery": f"currency_code:{redemption.currency}"}, deadline=deadline)
    credits = credit_transactions(data)
    taken = set(session.scalars(select(Redemption.shopify_discount_id).where(
        Redemption.shop_id == redemption.shop_id, Redemption.id != redemption.id,
        Redemption.shopify_discount_id.in_([c["id"] for c in credits]))))
    taken |= cashback_transactions(session, redemption.shop_id, [c["id"] for c in credits])
    session.commit()  # no transaction stays open while Shopify answers
    since = (redemption.first_attempt_at or redemption.created_at) - CLOCK_SKEW
    return next((c["id"] for c in credits if c["id"] not in taken and is_our_credit(c, variables, since)), None)


def _terms(redemption: Redemption) -> RedemptionTerms:
    data = redemption.terms
    return RedemptionTerms(kind=data["kind"], points=data["points"],
                           value=Decimal(data["value"]) if data["value"] is not None else None,
                           currency=data["currency"],
                           min_subtotal=Decimal(data["min_subtotal"]) if data["min_subtotal"] else None,
                           expiry_days=data["expiry_days"], combines_with=data["combines_with"],
                           variant_id=data["variant_id"], single_use=data.get("single_use", True))


def issue(session: Session, shop: Shop, redemption: Redemption, *, admin: AdminAccess, queue: "Queue",
          clock: Clock, deadline: float | None = None) -> None:
    """Phases 2 and 3 for a pending redemption (also used to resume an abandoned one). Without
    the lease it does nothing: another request or worker is at Shopify for this redemption.
    `queue` takes over when the request's `deadline` runs out."""
    tried_before = _take_lease(session, redemption, clock())
    if tried_before is None:
        return
    member = session.get(Member, redemption.member_id) if redemption.member_id else None
    reward = session.get(Reward, redemption.reward_id) if redemption.reward_id else None
    name = reward.name if reward else redemption.purpose.replace("_", " ").title()
    session.commit()  # no transaction stays open while Shopify answers
    try:
        shopify_id = _create_in_shopify(admin, session, shop, redemption, member.customer_id if member else None,
                                        name, tried_before=tried_before, deadline=deadline)
    except ShopifyDeadlineExceeded:
        _hand_to_worker(queue, session, redemption)
        return
    except ShopifyOutcomeUnknown as exc:
        # Maybe credited, maybe not: points stay held; after the lease the resume job reads again.
        log.warning("redemption %s: outcome unknown, left pending: %s", redemption.id, exc)
        session.rollback()
        return
    except (ShopifyError, ShopNeedsReauth, OAuthError) as exc:
        session.rollback()
        give_back(session, redemption, why="failed", reason=_failure_text(exc, redemption), now=clock())
        return
    if not _mark_issued(session, redemption, shopify_id, clock()):
        _withdraw_orphan(admin, session, shop, redemption, shopify_id)


def _transition(session: Session, redemption: Redemption, from_status: str, **values: Any) -> bool:
    """Compare-and-set on the redemption row: True only if it was still `from_status`."""
    changed = session.execute(update(Redemption).where(
        Redemption.shop_id == redemption.shop_id, Redemption.id == redemption.id, Redemption.status == from_status)
        .values(**values).execution_options(synchronize_session=False)).rowcount == 1
    return changed


def _reload(session: Session, redemption: Redemption) -> None:
    """The row as committed, without keeping a transaction (SQLite's write lock) open while
    Shopify answers."""
    session.refresh(redemption)
    session.commit()


def _take_lease(session: Session, redemption: Redemption, now: datetime) -> bool | None:
    """Claim the right to call Shopify for a pending redemption. Returns whether an earlier
    attempt may already have reached Shopify, or None if someone else holds the lease."""
    session.commit()  # the claim is its own short transaction
    tried_before = session.scalar(select(Redemption.first_attempt_at).where(
        Redemption.shop_id == redemption.shop_id, Redemption.id == redemption.id)) is not None
    taken = session.execute(update(Redemption).where(
        Redemption.shop_id == redemption.shop_id, Redemption.id == redemption.id, Redemption.status == "pending",
        or_(Redemption.lease_until.is_(None), Redemption.lease_until < now))
        .values(lease_until=now + LEASE, first_attempt_at=func.coalesce(Redemption.first_attempt_at, now))
        .execution_options(synchronize_session=False)).rowcount == 1
    session.commit()
    _reload(session, redemption)
    return tried_before if taken else None


def _mark_issued(session: Session, redemption: Redemption, shopify_id: str, now: datetime) -> bool:
    changed = _transition(session, redemption, "pending", status="issued", shopify_discount_id=shopify_id,
                          issued_at=now, lease_until=None, updated_at=now)
    if changed and redemption.member_id is not None:
        event_outbox.record_reward_redeemed(
            session, shop_id=redemption.shop_id, member_id=redemption.member_id, redemption_id=redemption.id,
            data={"reward_id": redemption.reward_id, "purpose": redemption.purpose, "kind": redemption.kind,
                  "code": redemption.code, "points_spent": redemption.points_spent,
                  "value": str(redemption.value) if redemption.value is not None else None,
                  "currency": redemption.currency,
                  "expires_at": redemption.expires_at.isoformat() if redemption.expires_at else None}, now=now)
    session.commit()
    _reload(session, redemption)
    return changed


def _hand_to_worker(queue: "Queue", session: Session, redemption: Redemption) -> None:
    """The request's time is up: release the lease so the worker can carry on at once."""
    session.rollback()
    _transition(session, redemption, "pending", lease_until=None)
    session.commit()
    _reload(session, redemption)
    queue.enqueue("finish_redemption", redemption.shop_id, redemption.id)


def _withdraw_orphan(shopify: AdminAccess, session: Session, shop: Shop, redemption: Redemption,
                     shopify_id: str) -> None:
    """Someone else settled the redemption while we were at Shopify. If its points came back,
    the code we just made must not stay usable."""
    if redemption.status == "issued":
        return  # the same code: Shopify said TAKEN and the other path recognised it as ours
    if redemption.kind == "store_credit":
        log.error("redemption %s: store credit %s landed after the points came back; debit it by hand",
                  redemption.id, shopify_id)
        return
    log.warning("redemption %s is %s; deactivating its late code", redemption.id, redemption.status)
    try:
        call_admin(shopify, session, shop, DEACTIVATE_DISCOUNT_CODE, {"id": shopify_id})
    except (ShopifyError, ShopNeedsReauth, OAuthError) as exc:
        log.error("redemption %s: could not deactivate late code %s (%s); deactivate it in the Shopify admin",
                  redemption.id, shopify_id, exc)


def _failure_text(exc: Exception, redemption: Redemption) -> str:
    log.warning("redemption %s failed at Shopify: %s", redemption.id, exc)
    back = f" Your {redemption.points_spent} points are back." if redemption.points_spent else ""
    if isinstance(exc, ShopNeedsReauth):
        return "The store needs to reconnect Tessera before codes can be created." + back
    if isinstance(exc, ShopifyUserErrors):
        return f"Shopify did not accept the code ({exc}).{back} Please contact the store."
    return "We could not create your code just now." + back + " Please try again in a few minutes."


def give_back(session: Session, redemption: Redemption, *, why: str, reason: str, now: datetime,
              status: str = "failed", from_status: str = "pending") -> bool:
    """Undo a redemption's debit with a reversing entry (never by editing the debit) - only if
    this call moved it out of `from_status`; False when another path got there first."""
    member = session.get(Member, redemption.member_id) if redemption.member_id else None
    if member is not None and redemption.points_spent:
        lock_member(session, member)
    if not _transition(session, redemption, from_status, status=status, failure_reason=reason, lease_until=None,
                       updated_at=now):
        session.rollback()
        _reload(session, redemption)
        return False
    pooled = member is not None and redemption.points_spent and return_pooled_points(
        session, redemption, why=why, reason=_return_reason(redemption, why), now=now)
    if member is not None and redemption.points_spent and not pooled:
        debit = entry_by_key(session, redemption.shop_id, redemption_debit_key(redemption.id))
        post_entry(session, member, NewEntry(
            key=redemption_return_key(redemption.id, why), kind=EntryKind.REVERSAL, points=redemption.points_spent,
            cause_type="redemption", cause_id=str(redemption.id), **reason_fields(_return_reason(redemption, why)),
            reverses_entry_id=debit.id if debit else None), now=now)
    session.commit()
    _reload(session, redemption)
    return True


def _return_reason(redemption: Redemption, why: str) -> Reason:
    what = reason("redemption.what_code", code=redemption.code) if redemption.code else \
        reason("redemption.what_store_credit")
    known = why if why in ("failed", "expired", "reward_deleted") else "other"
    return reason(f"redemption.returned_{known}", what=what)


def issue_free_code(db: Database, shop_id: int, member_id: int | None, *, key: str, terms: RedemptionTerms,
                    purpose: str, prefix: str | None, admin: AdminAccess, queue: "Queue", clock: Clock) -> Redemption:
    """A code that costs no points: tier entry rewards, referral welcome discounts."""
    with db.scope() as session:
        shop = session.get(Shop, shop_id)
        member = session.get(Member, member_id) if member_id else None
        existing = session.scalar(select(Redemption).where(
            Redemption.shop_id == shop.id, Redemption.idempotency_key == key,
            Redemption.member_id == member_id if member_id else Redemption.member_id.is_(None)))
        redemption = existing or _open_redemption(session, shop, member, key=key, terms=terms, purpose=purpose,
                                                  reward=None, prefix=prefix, now=clock())
        session.commit()
        if redemption.status == "pending":
            issue(session, shop, redemption, admin=admin, queue=queue, clock=clock)
        return redemption


def resume_stale_redemptions(db: Database, *, admin: AdminAccess, queue: "Queue", clock: Clock) -> int:
    """Pending redemptions abandoned by a crash are finished (or their points given back)."""
    now = clock()
    with db.scope(read_only=True) as session:
        stale = session.execute(select(Redemption.id, Redemption.shop_id).where(
            Redemption.status == "pending", Redemption.created_at < now - STALE_PENDING,
            or_(Redemption.lease_until.is_(None), Redemption.lease_until < now))).all()
    for redemption_id, shop_id in stale:
        with db.scope() as session:
            redemption = session.get(Redemption, redemption_id)
            if redemption.status == "pending":
                issue(session, session.get(Shop, shop_id), redemption, admin=admin, queue=queue, clock=clock)
    return len(stale)


def expire_unused_codes(db: Database, *, now: datetime) -> int:
    """Codes past their end date (and a day's grace for late orders) are expired; their points
    come back if the owner chose so."""
    cutoff = now - EXPIRY_GRACE
    with db.scope(read_only=True) as session:
        due = session.execute(select(Redemption.id, Redemption.shop_id).where(
            Redemption.status == "issued", Redemption.expires_at < cutoff)).all()
    for redemption_id, shop_id in due:
        with db.scope() as session:
            redemption, shop = session.get(Redemption, redemption_id), session.get(Shop, shop_id)
            _, program = current_program(session, shop)
            if program.clawback.return_points_for_expired_codes and redemption.purpose == "reward":
                give_back(session, redemption, why="expired", reason="expired unused", now=now,
                          status="expired", from_status="issued")
            else:
                _transition(session, redemption, "issued", status="expired", updated_at=now)
                session.commit()
    return len(due)


def deactivate_reward_codes(db: Database, shop_id: int, reward_id: int, *, admin: AdminAccess, clock: Clock) -> int:
    """A withdrawn reward's open codes are deactivated in Shopify and their points returned."""
    with db.scope(read_only=True) as session:
        ids = session.scalars(select(Redemption.id).where(Redemption.shop_id == shop_id,
                                                          Redemption.reward_id == reward_id,
                                                          Redemption.status == "issued")).all()
    for redemption_id in ids:
        with db.scope() as session:
            redemption, shop = session.get(Redemption, redemption_id), session.get(Shop, shop_id)
            if redemption.shopify_discount_id and redemption.kind != "store_credit":
                call_admin(admin, session, shop, DEACTIVATE_DISCOUNT_CODE, {"id": redemption.shopify_discount_id})
            give_back(session, redemption, why="reward_deleted", reason="reward withdrawn", now=clock(),
                      status="deactivated", from_status="issued")
    return len(ids)


def note_codes_on_order(session: Session, shop: Shop, order: Order, member: Member | None, *, now: datetime) -> None:
    """A reward code seen in an order is used. If that order is later cancelled or fully
    refunded, the points spent on the code come back (the owner's choice; on by default)."""
    codes = [c.upper() for c in order.discount_codes or []]
    if not codes:
        return
    used = session.scalars(select(Redemption).where(Redemption.shop_id == shop.id, Redemption.code.in_(codes))).all()
    for redemption in used:
        if _mark_used(session, redemption, order, now) == "expired":
            _charge_again_if_returned(session, redemption, order, now)
        if redemption.used_order_id == order.order_id and _order_void(order):
            _return_points_for_void_order(session, shop, order, redemption, now)


def _mark_used(session: Session, redemption: Redemption, order: Order, now: datetime) -> str | None:
    """Compare-and-set, like every redemption transition: the expiry sweep may have expired the
    code (and returned its points) since it was read. Returns the status it was used from."""
    for status in ("issued", "expired"):
        changed = session.execute(update(Redemption).where(
            Redemption.shop_id == redemption.shop_id, Redemption.id == redemption.id, Redemption.status == status)
            .values(status="used", used_at=now, used_order_id=order.order_id)
            .execution_options(synchronize_session=False)).rowcount
        if changed:
            session.refresh(redemption)
            return status
    return None


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
        key=redemption_late_use_key(redemption.id), kind=EntryKind.REDEEM, points=-redemption.points_spent,
        cause_type="redemption", cause_id=str(redemption.id),
        **reason_fields(reason("redemption.late_use", code=redemption.code, order=order.name or order.order_id))),
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
    why = reason("redemption.order_cancelled" if order.cancelled_at is not None else "redemption.order_refunded",
                 order=order.name or order.order_id, points=redemption.points_spent, code=redemption.code)
    post_entry(session, member, NewEntry(
        key=redemption_return_key(redemption.id, "order_void"), kind=EntryKind.REVERSAL,
        points=redemption.points_spent, cause_type="redemption", cause_id=str(redemption.id),
        **reason_fields(why)), now=now)
if TYPE_CHECKING:
    from app.jobs.queues import Queue
Clock = Callable[[], datetime]
