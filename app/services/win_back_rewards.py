"""Free codes for win-back entries when the owner chose a catalog reward (win_back.reward_id),
issued by a periodic job like challenge rewards (services/challenge_rewards.py), so Shopify is
never called inside the recompute's transaction. Each code is asked for once: the redemption's
idempotency key is the entry's key, and the redemption is recorded on the entry."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from app.db import Database
from app.loyalty.rewards import terms_for
from app.models import Reward, Shop, WinBackEntry
from app.services.program import current_program
from app.services.redemptions import issue_free_code
from app.services.rewards import spec_of
from app.services.win_back import CATCH_UP_DAYS
from app.shopify.admin_access import AdminAccess

if TYPE_CHECKING:
    from app.jobs.queues import Queue

log = logging.getLogger(__name__)
BATCH = 200


def grant_win_back_rewards(db: Database, *, admin: AdminAccess, queue: "Queue",
                           clock: Callable[[], datetime]) -> int:
    """Issue the free codes of recent granted win-back entries that have none yet."""
    now = clock()
    work = []
    with db.scope(read_only=True) as session:
        shops = session.scalars(select(Shop).where(Shop.uninstalled_at.is_(None),
                                                   Shop.reauth_required_at.is_(None))).all()
        for shop in shops:
            reward_id = current_program(session, shop)[1].win_back.reward_id
            if reward_id is None:
                continue
            reward = session.get(Reward, reward_id)
            if (reward is None or reward.shop_id != shop.id or reward.deleted_at is not None or not reward.enabled
                    or reward.kind in ("points_slider", "free_product")):
                log.warning("win-back reward %s of shop %s cannot be given as a free code", reward_id, shop.id)
                continue
            # Entries granted lately (a reward chosen today is not given for last year's entries).
            due = session.execute(select(WinBackEntry.id, WinBackEntry.member_id, WinBackEntry.entry_key).where(
                WinBackEntry.shop_id == shop.id, WinBackEntry.outcome == "granted",
                WinBackEntry.entry_key.is_not(None), WinBackEntry.redemption_id.is_(None),
                WinBackEntry.entered_at > now - timedelta(days=CATCH_UP_DAYS)).order_by(WinBackEntry.id)
                .limit(BATCH)).all()
            terms = terms_for(spec_of(reward), shop.currency)
            terms = type(terms)(**{**terms.__dict__, "points": 0})
            work += [(shop.id, entry_id, member_id, key, terms, reward.code_prefix) for entry_id, member_id, key in due]
    for shop_id, entry_id, member_id, key, terms, prefix in work:
        redemption = issue_free_code(db, shop_id, member_id, key=key, terms=terms, purpose="win_back_reward",
                                     prefix=prefix, admin=admin, queue=queue, clock=clock)
        with db.scope() as session:
            session.get(WinBackEntry, entry_id).redemption_id = redemption.id
            session.commit()
    return len(work)
