"""Shopify Flow: which triggers a shop's workflows use, the triggers to send, and the actions
Flow asks of Tessera.

Triggers are sent with flowTriggerReceive only while a workflow of the shop uses them (Flow's
lifecycle callback says so, newest timestamp wins). The member-events consumer writes one send
row per event and trigger (idempotent per event id); `send_due_flow_triggers` sends them with
retries and backoff, outside any write transaction.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import Database
from app.flow import definitions as flow
from app.loyalty.events import EventKind, MemberEvent
from app.models import FlowTriggerSend, FlowTriggerUse, Member, MemberNotification, Shop
from app.services.adjustments import adjust_points
from app.services.members import block_member, get_or_create_member, unblock_member
from app.services.program import current_program
from app.services.rewards import catalog
from app.services.set_sql import insert_rows
from app.shopify.admin_access import AdminAccess, ShopNeedsReauth, call_admin
from app.shopify.documents import RECEIVE_FLOW_TRIGGER
from app.shopify.graphql import ShopifyError, ShopifyUserErrors

log = logging.getLogger(__name__)

FLOW_STAFF_ID = "shopify-flow"
RETRY_BACKOFF = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(hours=1),
                 timedelta(hours=4))
SEND_BATCH = 100


# ---- the lifecycle callback -------------------------------------------------------------------

def record_trigger_use(session: Session, shop: Shop, trigger: flow.TriggerDefinition, *, in_use: bool,
                       reported_at: datetime) -> bool:
    """Store what Flow said; a callback older than the one stored is ignored (Flow's rule).
    Returns whether it changed anything."""
    use = session.scalar(select(FlowTriggerUse).where(FlowTriggerUse.shop_id == shop.id,
                                                      FlowTriggerUse.trigger_handle == trigger.handle))
    if use is not None and use.reported_at >= reported_at:
        session.rollback()
        return False
    if use is None:
        use = FlowTriggerUse(shop_id=shop.id, trigger_handle=trigger.handle)
        session.add(use)
    use.in_use, use.reported_at = in_use, reported_at
    session.commit()
    return True


def triggers_in_use(session: Session, shop_ids: set[int]) -> set[tuple[int, str]]:
    rows = session.execute(select(FlowTriggerUse.shop_id, FlowTriggerUse.trigger_handle).where(
        FlowTriggerUse.shop_id.in_(sorted(shop_ids)), FlowTriggerUse.in_use.is_(True)))
    return {(shop_id, handle) for shop_id, handle in rows}


# ---- the member-events consumer ---------------------------------------------------------------

def queue_flow_triggers(session: Session, events: list[MemberEvent], *, now: datetime) -> None:
    """One send row per event and trigger a workflow of the shop uses (none otherwise)."""
    in_use = triggers_in_use(session, {e.shop_id for e in events}) if events else set()
    listening = {shop_id for shop_id, _ in in_use}
    rows = []
    for event in events:
        if event.shop_id not in listening:
            continue  # most shops use no Flow trigger: nothing to work out for them
        for trigger, payload in _triggers_of(session, event, in_use):
            if (event.shop_id, trigger.handle) in in_use:
                rows.append(_send_row(event.shop_id, event.member_id, trigger, f"event:{event.id}", payload, now))
    insert_rows(session, FlowTriggerSend.__table__, rows, conflict=("shop_id", "send_key"))


def _send_row(shop_id: int, member_id: int | None, trigger: flow.TriggerDefinition, cause: str, payload: dict,
              now: datetime) -> dict:
    return {"shop_id": shop_id, "member_id": member_id, "trigger_handle": trigger.handle,
            "send_key": f"{trigger.handle}:{cause}", "payload": payload, "status": "pending", "attempts": 0,
            "next_attempt_at": now, "last_error": None, "created_at": now, "sent_at": None}


def _triggers_of(session: Session, event: MemberEvent,
                 in_use: set[tuple[int, str]]) -> list[tuple[flow.TriggerDefinition, dict]]:
    customer, data, balance = event.customer_id, event.data, event.balance.balance
    if event.kind == EventKind.POINTS_EARNED:
        earned = [(flow.POINTS_EARNED, {"customer_id": customer, "Points": data.get("points", 0),
                                        "Balance": balance})]
        wants_rewards = (event.shop_id, flow.REWARD_AVAILABLE.handle) in in_use
        return earned + (_reward_now_available(session, event) if wants_rewards else [])
    if event.kind == EventKind.TIER_CHANGED:
        names = _tier_names(session, event.shop_id)
        return [(flow.TIER_CHANGED, {"customer_id": customer, "Tier": names.get(data.get("tier_to"), "none"),
                                     "Previous tier": names.get(data.get("tier_from"), "none")})]
    if event.kind == EventKind.REFERRAL_COMPLETED:
        return [(flow.REFERRAL_COMPLETED, {"customer_id": customer, "Points": data.get("points", 0),
                                           "Referral ID": str(data.get("referral_id"))})]
    return []


def _reward_now_available(session: Session, event: MemberEvent) -> list[tuple[flow.TriggerDefinition, dict]]:
    """The cheapest reward the member could not afford before these points and can now."""
    balance = event.balance.balance
    before = balance - int(event.data.get("points") or 0)
    shop = session.get(Shop, event.shop_id)
    costs = sorted(((r.min_points or r.points_cost or 0), r.name) for r in catalog(session, shop))
    reached = [(cost, name) for cost, name in costs if before < cost <= balance]
    if not reached:
        return []
    cost, name = reached[0]
    return [(flow.REWARD_AVAILABLE, {"customer_id": event.customer_id, "Reward": name, "Points cost": cost,
                                     "Balance": balance})]


def _tier_names(session: Session, shop_id: int) -> dict[str | None, str]:
    _, program = current_program(session, session.get(Shop, shop_id))
    return {tier.key: tier.name for tier in program.tiers.levels}


def queue_expiring_points_triggers(session: Session, *, now: datetime) -> int:
    """Expiry reminders (services.expiry) become "points expiring" triggers for shops using it;
    the reminder's key makes each one a single send."""
    shops = {shop_id for shop_id, handle in _all_in_use(session) if handle == flow.POINTS_EXPIRING.handle}
    if not shops:
        return 0
    rows = session.execute(select(MemberNotification, Member.customer_id).join(
        Member, Member.id == MemberNotification.member_id).where(
        MemberNotification.shop_id.in_(sorted(shops)), MemberNotification.kind == "points_expiring",
        MemberNotification.due_at > now)).all()
    sends = [_send_row(n.shop_id, n.member_id, flow.POINTS_EXPIRING, n.notification_key,
                       {"customer_id": customer_id, "Points": n.points, "Expiry date": f"{n.due_at:%Y-%m-%d}",
                        "Balance": n.points}, now) for n, customer_id in rows]
    inserted = insert_rows(session, FlowTriggerSend.__table__, sends, conflict=("shop_id", "send_key"),
                           returning=("id",))
    session.commit()
    return len(inserted)


def _all_in_use(session: Session) -> list[tuple[int, str]]:
    return session.execute(select(FlowTriggerUse.shop_id, FlowTriggerUse.trigger_handle).where(
        FlowTriggerUse.in_use.is_(True))).tuples().all()


# ---- sending ----------------------------------------------------------------------------------

def send_due_flow_triggers(access: AdminAccess, db: Database, *, now: datetime) -> int:
    """Send the due triggers; a refused payload (userErrors) is final, a Shopify outage retried."""
    with db.scope(read_only=True) as session:
        due = session.execute(select(FlowTriggerSend.id, FlowTriggerSend.shop_id).where(
            FlowTriggerSend.status == "pending", FlowTriggerSend.next_attempt_at <= now)
            .order_by(FlowTriggerSend.id).limit(SEND_BATCH)).all()
    sent = 0
    for send_id, shop_id in due:
        with db.scope() as session:
            sent += _send_one(access, session, session.get(Shop, shop_id), session.get(FlowTriggerSend, send_id), now)
    return sent


def _send_one(access: AdminAccess, session: Session, shop: Shop, send: FlowTriggerSend, now: datetime) -> int:
    handle, payload = send.trigger_handle, dict(send.payload)
    session.commit()  # no transaction stays open while Shopify answers
    try:
        call_admin(access, session, shop, RECEIVE_FLOW_TRIGGER, {"handle": handle, "payload": payload})
    except ShopifyUserErrors as exc:
        _settle(session, send, now, status="failed", error=str(exc))
        return 0
    except (ShopifyError, ShopNeedsReauth) as exc:
        attempts = send.attempts + 1
        final = attempts > len(RETRY_BACKOFF)
        _settle(session, send, now, status="failed" if final else "pending", error=str(exc), attempts=attempts,
                next_attempt_at=now if final else now + RETRY_BACKOFF[attempts - 1])
        return 0
    _settle(session, send, now, status="sent", error=None, sent_at=now)
    return 1


def _settle(session: Session, send: FlowTriggerSend, now: datetime, *, status: str, error: str | None,
            **values) -> None:
    send.status, send.last_error = status, error[:2000] if error else None
    for name, value in values.items():
        setattr(send, name, value)
    if status == "failed":
        log.warning("flow trigger %s of shop %s not sent: %s", send.trigger_handle, send.shop_id, error)
    session.commit()


# ---- actions ----------------------------------------------------------------------------------

def adjust_points_for_flow(session: Session, shop: Shop, customer_id: int, points, reason, *, action_run_id: str,
                           now: datetime):
    """"Add or remove points": a staff-style adjustment made by Flow, once per action run (Flow
    retries a run it did not hear back from)."""
    member = get_or_create_member(session, shop, customer_id, now=now)
    return adjust_points(session, shop, member, points, reason, staff_user_id=FLOW_STAFF_ID, now=now,
                         idempotency_key=f"flow:{action_run_id}")


def set_member_blocked_by_flow(session: Session, shop: Shop, customer_id: int, *, blocked: bool, reason: str | None,
                               now: datetime) -> Member:
    """Block or unblock: setting the state it already has is no change (a retried run is harmless)."""
    member = get_or_create_member(session, shop, customer_id, now=now)
    if blocked and member.blocked_at is None:
        block_member(session, member, reason=reason or "Blocked by a Shopify Flow workflow", now=now)
    elif not blocked and member.blocked_at is not None:
        unblock_member(session, member)
    else:
        session.commit()
    return member
