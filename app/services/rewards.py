"""The reward catalog (owner-configured): listing, creating, changing, deleting rewards."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.loyalty.errors import NotFound
from app.loyalty.rewards import RewardSpec, combination_text, combines_with, describe_value, validate_reward
from app.models import Reward, Shop
from app.parsing import is_stored_id

if TYPE_CHECKING:
    from app.jobs import Queue


EDITABLE_FIELDS = ("name", "kind", "points_cost", "value", "min_subtotal", "code_expiry_days", "combines_with_order",
                   "combines_with_product", "combines_with_shipping", "tier_keys", "per_member_limit", "variant_id",
                   "points_per_unit", "min_points", "max_points", "code_prefix", "enabled", "members_only")


def spec_of(reward: Reward) -> RewardSpec:
    return RewardSpec(
        id=reward.id, name=reward.name, kind=reward.kind, points_cost=reward.points_cost, value=reward.value,
        min_subtotal=reward.min_subtotal, code_expiry_days=reward.code_expiry_days,
        combines_with_order=reward.combines_with_order, combines_with_product=reward.combines_with_product,
        combines_with_shipping=reward.combines_with_shipping,
        tier_keys=tuple(reward.tier_keys) if reward.tier_keys else None, per_member_limit=reward.per_member_limit,
        variant_id=reward.variant_id, points_per_unit=reward.points_per_unit, min_points=reward.min_points,
        max_points=reward.max_points, code_prefix=reward.code_prefix, enabled=reward.enabled and not reward.deleted_at)


def catalog(session: Session, shop: Shop, *, include_disabled: bool = False) -> list[Reward]:
    query = select(Reward).where(Reward.shop_id == shop.id, Reward.deleted_at.is_(None))
    if not include_disabled:
        query = query.where(Reward.enabled.is_(True))
    return session.scalars(query.order_by(Reward.position, Reward.id)).all()


def find_reward(session: Session, shop: Shop, reward_id: Any) -> Reward:
    reward = None
    # Anything but an id the database can hold ('abc', '²', 10**30, a list) is simply not a reward.
    if isinstance(reward_id, (int, str)) and not isinstance(reward_id, bool) and is_stored_id(str(reward_id)):
        reward = session.scalar(select(Reward).where(Reward.shop_id == shop.id, Reward.id == int(reward_id),
                                                     Reward.deleted_at.is_(None)))
    if reward is None:
        raise NotFound("That reward does not exist (any more); reload to see the current rewards.")
    return reward


def reward_json(reward: Reward, currency: str) -> dict[str, Any]:
    """The public description of a reward (widget and admin)."""
    spec = spec_of(reward)
    combines = combines_with(spec)
    return {
        "id": reward.id, "name": reward.name, "kind": reward.kind, "points_cost": reward.points_cost,
        "value": None if reward.value is None else str(reward.value), "currency": currency,
        "description": describe_value(spec, currency),
        "min_subtotal": None if reward.min_subtotal is None else str(reward.min_subtotal),
        "code_expiry_days": reward.code_expiry_days, "combines_with": {  # what the code will ask Shopify for
            "order": combines["orderDiscounts"], "product": combines["productDiscounts"],
            "shipping": combines["shippingDiscounts"]},
        "combination_text": combination_text(spec), "tier_keys": reward.tier_keys,
        "per_member_limit": reward.per_member_limit, "variant_id": reward.variant_id,
        "points_per_unit": reward.points_per_unit, "min_points": reward.min_points, "max_points": reward.max_points,
        "enabled": reward.enabled, "members_only": bool(reward.members_only),
        "segment_ids": reward.segment_ids, "lifecycle_stages": reward.lifecycle_stages,
    }


def create_reward(session: Session, shop: Shop, data: dict[str, Any]) -> Reward:
    clean = _validated(session, shop, data)
    position = session.scalar(select(func.coalesce(func.max(Reward.position), -1) + 1).where(Reward.shop_id == shop.id))
    reward = Reward(shop_id=shop.id, position=position, **clean)
    session.add(reward)
    session.commit()
    return reward


def update_reward(session: Session, shop: Shop, reward_id: Any, data: dict[str, Any]) -> Reward:
    """Changes apply to future redemptions; codes already issued keep the terms they had."""
    reward = find_reward(session, shop, reward_id)
    current = {f: getattr(reward, f) for f in EDITABLE_FIELDS + AUDIENCE_FIELDS}
    for field, value in _validated(session, shop, {**current, **data}).items():
        setattr(reward, field, value)
    session.commit()
    return reward


def delete_reward(session: Session, shop: Shop, reward_id: Any, *, now: datetime, queue: "Queue") -> None:
    """Soft delete (history keeps pointing at it), then deactivate its open codes in Shopify."""
    reward = find_reward(session, shop, reward_id)
    reward.deleted_at, reward.enabled = now, False
    session.commit()
    queue.enqueue("deactivate_reward_codes", shop.id, reward.id)
AUDIENCE_FIELDS = ("segment_ids", "lifecycle_stages")


def _validated(session: Session, shop: Shop, data: dict[str, Any]) -> dict[str, Any]:
    """The reward fields and its audience (segment_ids, lifecycle_stages), all checked at once."""
    from app.loyalty.errors import InvalidInput
    from app.loyalty.segments import parse_audience
    from app.queries.segments import require_segment_ids
    problems: dict[str, str] = {}
    segment_ids, stages = parse_audience(data, problems)
    try:
        clean = validate_reward({k: v for k, v in data.items() if k not in AUDIENCE_FIELDS})
    except InvalidInput as exc:
        raise InvalidInput(str(exc), {**exc.fields, **problems}) from None
    if problems:
        raise InvalidInput("The reward's audience has problems; fix the fields listed.", problems)
    require_segment_ids(session, shop, segment_ids, "segment_ids")
    return {**clean, "segment_ids": segment_ids, "lifecycle_stages": stages}
