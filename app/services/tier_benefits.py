"""Tier benefits that live in Shopify: a tier's entry reward (a free code from the catalog)
and its free-shipping perk (one reusable code while the tier lasts).

They are granted by a periodic job from the members' current tiers rather than pushed from
each place a member can change tier (an order, an action, a staff adjustment, the period-end
recompute), so every way into a tier gets them, and each exactly once (the redemption's
idempotency key)."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import Database
from app.loyalty.ledger import tier_entry_reward_key, tier_free_shipping_key
from app.loyalty.program import Tier
from app.loyalty.rewards import free_shipping_perk, terms_for
from app.models import Member, Redemption, Reward, Shop
from app.services.program import current_program
from app.services.redemptions import issue_free_code
from app.services.rewards import spec_of
from app.shopify.admin_access import AdminAccess

if TYPE_CHECKING:
    from app.jobs.queues import Queue

log = logging.getLogger(__name__)
BATCH = 200


def entry_reward_key(tier: Tier) -> str:
    return tier_entry_reward_key(tier.key)


def perk_key(tier: Tier, until: datetime | None) -> str:
    return tier_free_shipping_key(tier.key, until)


def _due(session: Session, shop: Shop, tier: Tier) -> list[tuple[int, str, datetime | None]]:
    """(member id, redemption key, tier end) for members of `tier` still missing a benefit."""
    members = session.execute(select(Member.id, Member.tier_retained_until).where(
        Member.shop_id == shop.id, Member.tier_key == tier.key, Member.blocked_at.is_(None))).all()
    wanted = []
    for member_id, until in members:
        if tier.entry_reward_id:
            wanted.append((member_id, entry_reward_key(tier), until))
        if tier.free_shipping:
            wanted.append((member_id, perk_key(tier, until), until))
    if not wanted:
        return []
    held = set(session.execute(select(Redemption.member_id, Redemption.idempotency_key).where(
        Redemption.shop_id == shop.id, Redemption.purpose.in_(("tier_reward", "tier_perk")))).all())
    return [w for w in wanted if (w[0], w[1]) not in held][:BATCH]


def _grant(db: Database, shop: Shop, tier: Tier, member_id: int, key: str, until: datetime | None, *,
           admin: AdminAccess, queue: "Queue", clock: Callable[[], datetime]) -> None:
    if key == entry_reward_key(tier):
        with db.scope(read_only=True) as session:
            reward = session.get(Reward, tier.entry_reward_id)
            if reward is None or reward.shop_id != shop.id or reward.kind == "points_slider":
                log.warning("tier %s of %s names a reward it cannot give (%s)", tier.key, shop.domain,
                            tier.entry_reward_id)
                return
            terms, prefix = terms_for(spec_of(reward), shop.currency), reward.code_prefix
        issue_free_code(db, shop.id, member_id, key=key, terms=type(terms)(**{**terms.__dict__, "points": 0}),
                        purpose="tier_reward", prefix=prefix, admin=admin, queue=queue, clock=clock)
    else:
        days = max(1, -(-(until - clock()) // timedelta(days=1))) if until else 365  # to the end, rounded up
        issue_free_code(db, shop.id, member_id, key=key, terms=free_shipping_perk(shop.currency, days),
                        purpose="tier_perk", prefix="SHIP", admin=admin, queue=queue, clock=clock)


def grant_tier_benefits(db: Database, *, admin: AdminAccess, queue: "Queue", clock: Callable[[], datetime]) -> int:
    granted = 0
    with db.scope(read_only=True) as session:
        shops = session.scalars(select(Shop).where(Shop.uninstalled_at.is_(None),
                                                   Shop.reauth_required_at.is_(None))).all()
        work = []
        for shop in shops:
            _, program = current_program(session, shop)
            if program.tiers.enabled:
                for tier in program.tiers.levels:
                    if tier.entry_reward_id or tier.free_shipping:
                        work += [(shop, tier, *due) for due in _due(session, shop, tier)]
    for shop, tier, member_id, key, until in work:
        _grant(db, shop, tier, member_id, key, until, admin=admin, queue=queue, clock=clock)
        granted += 1
    return granted
