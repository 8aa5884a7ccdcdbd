"""Free codes for completed challenges whose reward is a catalog item, issued by a periodic job
(like a tier's entry reward) so Shopify is never called inside an order's transaction. Each
code is asked for once: the redemption's idempotency key is the completion's ledger key."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import Database
from app.loyalty.ledger import challenge_reward_key
from app.loyalty.rewards import terms_for
from app.models import ChallengeCompletion, Redemption, Reward, Shop
from app.services.redemptions import issue_free_code
from app.services.rewards import spec_of
from app.shopify.admin_access import AdminAccess

if TYPE_CHECKING:
    from app.jobs.queues import Queue

log = logging.getLogger(__name__)
BATCH = 200


def _rewards_due(session: Session, shop_id: int) -> list[tuple[int, int, int, str]]:
    """(shop id, member id, reward id, redemption key) of completions whose code is not asked yet."""
    rows = session.scalars(select(ChallengeCompletion).where(
        ChallengeCompletion.shop_id == shop_id, ChallengeCompletion.reward_id.is_not(None))
        .order_by(ChallengeCompletion.id))
    wanted = [(c.shop_id, c.member_id, c.reward_id, challenge_reward_key(c.member_id, c.challenge_key,
                                                                         c.window_start)) for c in rows]
    if not wanted:
        return []
    asked = set(session.scalars(select(Redemption.idempotency_key).where(
        Redemption.shop_id == shop_id, Redemption.purpose == "challenge_reward")))
    return [w for w in wanted if w[3] not in asked][:BATCH]


def grant_challenge_rewards(db: Database, *, admin: AdminAccess, queue: "Queue",
                            clock: Callable[[], datetime]) -> int:
    """Issue the free codes of completed challenges whose reward is a catalog item (each once:
    the redemption's idempotency key is the completion's ledger key)."""
    granted = 0
    with db.scope(read_only=True) as session:
        shop_ids = session.scalars(select(Shop.id).where(Shop.uninstalled_at.is_(None),
                                                         Shop.reauth_required_at.is_(None))).all()
        due = [d for shop_id in shop_ids for d in _rewards_due(session, shop_id)]
        work = []
        for shop_id, member_id, reward_id, key in due:
            shop, reward = session.get(Shop, shop_id), session.get(Reward, reward_id)
            if reward is None or reward.shop_id != shop_id or reward.kind in ("points_slider", "free_product"):
                log.warning("challenge reward %s of shop %s cannot be given as a free code", reward_id, shop_id)
                continue
            terms = terms_for(spec_of(reward), shop.currency)
            work.append((shop_id, member_id, key, type(terms)(**{**terms.__dict__, "points": 0}), reward.code_prefix))
    for shop_id, member_id, key, terms, prefix in work:
        issue_free_code(db, shop_id, member_id, key=key, terms=terms, purpose="challenge_reward", prefix=prefix,
                        admin=admin, queue=queue, clock=clock)
        granted += 1
    return granted
