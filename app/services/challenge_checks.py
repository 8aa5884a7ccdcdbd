"""Checks of program settings against the shop's catalog, before a program version is saved."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.loyalty.errors import InvalidInput
from app.loyalty.program import Program
from app.models import Reward, Shop


def check_challenge_rewards(session: Session, shop: Shop, program: Program) -> None:
    """A challenge rewarded with a catalog item names one of this shop's rewards that can be given
    as a free code (not a points slider, not a free product priced at redemption)."""
    for index, challenge in enumerate(program.challenges.challenges):
        if challenge.reward_id is None:
            continue
        reward = session.scalar(select(Reward).where(Reward.shop_id == shop.id, Reward.id == challenge.reward_id,
                                                     Reward.deleted_at.is_(None)))
        if reward is None or reward.kind in ("points_slider", "free_product"):
            raise InvalidInput("A challenge names a reward that cannot be given as a free code.",
                               {f"challenges.challenges.{index}.reward_id":
                                "one of your rewards (amount off, percent off, free shipping or store credit)"})


def check_win_back_reward(session: Session, shop: Shop, program: Program) -> None:
    """The win-back reward is one of this shop's rewards that can be given as a free code."""
    reward_id = program.win_back.reward_id
    if reward_id is None:
        return
    reward = session.scalar(select(Reward).where(Reward.shop_id == shop.id, Reward.id == reward_id,
                                                 Reward.deleted_at.is_(None), Reward.enabled.is_(True)))
    if reward is None or reward.kind in ("points_slider", "free_product"):
        raise InvalidInput("The win-back names a reward that cannot be given as a free code.",
                           {"win_back.reward_id":
                            "one of your rewards (amount off, percent off, free shipping or store credit)"})
