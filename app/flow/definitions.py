"""Tessera's Shopify Flow triggers and actions: handles, titles and payload fields, as declared
in extensions/*/shopify.extension.toml (tests/flow/test_extensions.py keeps the two in step).
Trigger field keys are what Flow reads in a trigger's payload; `customer_id` is the customer
reference every trigger and action carries."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TriggerDefinition:
    handle: str
    title: str
    fields: tuple[str, ...]  # payload keys besides customer_id, all required by Flow


POINTS_EARNED = TriggerDefinition("tessera-points-earned", "Loyalty points earned", ("Points", "Balance"))
REWARD_AVAILABLE = TriggerDefinition("tessera-reward-available", "Loyalty reward available",
                                     ("Reward", "Points cost", "Balance"))
TIER_CHANGED = TriggerDefinition("tessera-tier-changed", "Loyalty tier changed", ("Tier", "Previous tier"))
POINTS_EXPIRING = TriggerDefinition("tessera-points-expiring", "Loyalty points expiring",
                                    ("Points", "Expiry date", "Balance"))
REFERRAL_COMPLETED = TriggerDefinition("tessera-referral-completed", "Loyalty referral completed",
                                       ("Points", "Referral ID"))
TRIGGERS = (POINTS_EARNED, REWARD_AVAILABLE, TIER_CHANGED, POINTS_EXPIRING, REFERRAL_COMPLETED)
TRIGGERS_BY_HANDLE = {t.handle: t for t in TRIGGERS}

ADJUST_POINTS_ACTION = "tessera-adjust-points"
BLOCK_MEMBER_ACTION = "tessera-block-member"
ACTIONS = (ADJUST_POINTS_ACTION, BLOCK_MEMBER_ACTION)


def trigger_named(definition_id: str | None) -> TriggerDefinition | None:
    """Flow's lifecycle callback names a trigger by its handle or, for older definitions, by
    its title."""
    return TRIGGERS_BY_HANDLE.get(definition_id or "") or next(
        (t for t in TRIGGERS if t.title == definition_id), None)
