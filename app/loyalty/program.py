"""The loyalty program a shop runs: earning rules, actions, campaigns, tiers, referrals, expiry.

Stored as immutable versions (models.ProgramVersion.settings); every ledger entry records the
version it was computed under, so changing the program never rewrites history. Validation
errors carry the field path and a message an owner can act on.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.loyalty.badges import BadgeSettings
from app.loyalty.cashback import CashbackSettings
from app.loyalty.challenges import ChallengeSettings
from app.loyalty.charity import CharitySettings
from app.loyalty.emails import MailSettings
from app.loyalty.errors import InvalidInput
from app.loyalty.feedback import FeedbackSettings
from app.loyalty.households import HouseholdSettings
from app.loyalty.membership import MembershipSettings
from app.loyalty.lifecycle import LifecycleSettings, WinBackSettings

NETWORKS = ("instagram", "facebook", "tiktok", "x", "youtube", "pinterest")


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class EarningRule(_Settings):
    points_per_unit: Decimal = Field(Decimal("1"), ge=0, le=1000, description="points per 1 unit of shop currency")
    # subtotal = line items after discounts, before shipping and tax; gift cards never earn.
    base: Literal["subtotal", "subtotal_with_shipping", "subtotal_with_tax", "total"] = "subtotal"
    rounding: Literal["down", "nearest", "up"] = "down"
    trigger: Literal["paid", "fulfilled"] = "paid"
    pending_days: int = Field(0, ge=0, le=365)


Limit = Literal["once", "once_per_year", "per_period", "unlimited"]


class ActionRule(_Settings):
    enabled: bool = False
    points: int = Field(0, ge=0, le=1_000_000)
    limit: Limit = "once"
    max_per_period: int | None = Field(None, ge=1)
    period_days: int | None = Field(None, ge=1, le=3660)

    @model_validator(mode="after")
    def _period_complete(self):
        if self.limit == "per_period" and (self.max_per_period is None or self.period_days is None):
            raise ValueError("limit 'per_period' needs max_per_period and period_days")
        return self


class StreakRule(_Settings):
    """A bonus for N paid orders within D days (e.g. 3 orders in a month)."""

    enabled: bool = False
    points: int = Field(250, ge=0, le=1_000_000)
    orders: int = Field(3, ge=2, le=100)
    days: int = Field(30, ge=1, le=365)


class SocialRule(_Settings):
    enabled: bool = False
    points: int = Field(25, ge=0, le=1_000_000)
    # network -> the shop's page to follow (or share) on it
    networks: dict[str, str] = Field(default_factory=dict)

    @field_validator("networks")
    @classmethod
    def _known_networks(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(NETWORKS))
        if unknown:
            raise ValueError(f"unknown network(s) {', '.join(unknown)}; use {', '.join(NETWORKS)}")
        for network, url in value.items():
            if not url.startswith("https://"):
                raise ValueError(f"{network}: link must start with https://")
        return value


class Actions(_Settings):
    signup: ActionRule = ActionRule(enabled=True, points=100, limit="once")
    birthday: ActionRule = ActionRule(points=200, limit="once_per_year")
    first_order: ActionRule = ActionRule(points=100, limit="once")
    order_streak: StreakRule = StreakRule()
    newsletter: ActionRule = ActionRule(points=50, limit="once")
    social_follow: SocialRule = SocialRule()
    social_share: SocialRule = SocialRule(points=10)
    product_review: ActionRule = ActionRule(points=50, limit="per_period", max_per_period=5, period_days=30)
    profile_completion: ActionRule = ActionRule(points=50, limit="once")


class Campaign(_Settings):
    key: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=80)
    starts_at: datetime
    ends_at: datetime
    multiplier: Decimal | None = Field(None, gt=0, le=20)
    bonus_points: int | None = Field(None, ge=1, le=1_000_000)
    tier_keys: list[str] | None = None
    product_ids: list[int] | None = None
    collection_ids: list[int] | None = None
    # Products of `collection_ids`, filled in from Shopify after the program is saved.
    collection_product_ids: list[int] | None = None

    @model_validator(mode="after")
    def _check(self):
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("starts_at and ends_at need a timezone (e.g. 2026-11-27T00:00:00Z)")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.multiplier is None and self.bonus_points is None:
            raise ValueError("set a multiplier, bonus_points, or both")
        return self

    def is_active(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at

    @property
    def needs_collection_products(self) -> bool:
        return bool(self.collection_ids) and self.collection_product_ids is None

    def eligible_products(self) -> set[int] | None:
        """Products the campaign is limited to, or None for the whole order. A collection whose
        products are not known yet matches nothing rather than everything."""
        if self.product_ids is None and not self.collection_ids:
            return None
        return set(self.product_ids or ()) | set(self.collection_product_ids or ())
    # The audience (empty: everyone): members of any of these segments or lifecycle stages.
    segment_ids: list[int] | None = None
    lifecycle_stages: list[Literal["awareness", "engagement", "conversion", "loyalty", "at_risk", "lapsed"]] | None = None


class Tier(_Settings):
    key: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=40)
    threshold: Decimal = Field(ge=0)
    multiplier: Decimal = Field(Decimal("1"), ge=1, le=20)
    entry_points: int = Field(0, ge=0, le=1_000_000)
    entry_reward_id: int | None = None
    free_shipping: bool = False


class TierSettings(_Settings):
    enabled: bool = False
    metric: Literal["points_earned", "amount_spent", "order_count"] = "points_earned"
    period: Literal["lifetime", "calendar_year", "rolling_12_months"] = "lifetime"
    grace_days: int = Field(0, ge=0, le=365)
    downgrade_on_refund: bool = False
    levels: list[Tier] = Field(default_factory=lambda: [
        Tier(key="bronze", name="Bronze", threshold=Decimal(0)),
        Tier(key="silver", name="Silver", threshold=Decimal(500), multiplier=Decimal("1.25")),
        Tier(key="gold", name="Gold", threshold=Decimal(1500), multiplier=Decimal("1.5"), free_shipping=True),
    ])

    @field_validator("levels")
    @classmethod
    def _ordered(cls, levels: list[Tier]) -> list[Tier]:
        keys = [t.key for t in levels]
        if len(set(keys)) != len(keys):
            raise ValueError("tier keys must be unique")
        thresholds = [t.threshold for t in levels]
        if thresholds != sorted(thresholds) or len(set(thresholds)) != len(thresholds):
            raise ValueError("tiers must be listed from lowest to highest threshold, each threshold different")
        return levels


class ReferralSettings(_Settings):
    enabled: bool = False
    referrer_points: int = Field(500, ge=0, le=1_000_000)
    referee_discount_kind: Literal["amount_off", "percent_off", "free_shipping"] = "amount_off"
    referee_discount_value: Decimal = Field(Decimal("5"), ge=0)
    referee_code_expiry_days: int = Field(30, ge=1, le=365)
    min_order_subtotal: Decimal = Field(Decimal("0"), ge=0)
    max_per_referrer: int | None = Field(None, ge=1)
    period_days: int = Field(30, ge=1, le=3660)


class ExpirySettings(_Settings):
    policy: Literal["none", "inactivity", "after_earning"] = "none"
    months: int = Field(12, ge=1, le=120)
    reminder_days: int = Field(30, ge=0, le=365)


class ClawbackSettings(_Settings):
    allow_negative_balance: bool = False
    # When an order that used a reward code is cancelled or fully refunded.
    return_points_for_cancelled_reward_orders: bool = True
    return_points_for_expired_codes: bool = False


class WidgetSettings(_Settings):
    program_name: str = Field("Rewards", min_length=1, max_length=40)
    points_name: str = Field("points", min_length=1, max_length=20)
    accent_color: str = Field("#1f6f43", pattern=r"^#[0-9a-fA-F]{6}$")
    launcher_text: str = Field("Rewards", min_length=1, max_length=30)
    position: Literal["bottom-right", "bottom-left"] = "bottom-right"


class LeaderboardSettings(_Settings):
    enabled: bool = False


class Program(_Settings):
    earning: EarningRule = EarningRule()
    actions: Actions = Actions()
    campaigns: list[Campaign] = Field(default_factory=list)
    tiers: TierSettings = TierSettings()
    referrals: ReferralSettings = ReferralSettings()
    expiry: ExpirySettings = ExpirySettings()
    clawback: ClawbackSettings = ClawbackSettings()
    widget: WidgetSettings = WidgetSettings()
    # Games and giving (issue 18): each module is off until the owner turns it on.
    badges: BadgeSettings = BadgeSettings()
    challenges: ChallengeSettings = ChallengeSettings()
    leaderboard: LeaderboardSettings = LeaderboardSettings()
    feedback: FeedbackSettings = FeedbackSettings()
    charity: CharitySettings = CharitySettings()

    @field_validator("campaigns")
    @classmethod
    def _unique_campaigns(cls, campaigns: list[Campaign]) -> list[Campaign]:
        keys = [c.key for c in campaigns]
        if len(set(keys)) != len(keys):
            raise ValueError("campaign keys must be unique")
        return campaigns

    def tier(self, key: str | None) -> Tier | None:
        return next((t for t in self.tiers.levels if t.key == key), None) if key else None

    def as_settings(self) -> dict:
        return self.model_dump(mode="json")
    # Sender name, reply-to and the member emails and owner notices (app/loyalty/emails.py).
    mail: MailSettings = MailSettings()
    cashback: CashbackSettings = CashbackSettings()
    membership: MembershipSettings = MembershipSettings()
    households: HouseholdSettings = HouseholdSettings()
    lifecycle: LifecycleSettings = LifecycleSettings()
    win_back: WinBackSettings = WinBackSettings()


def default_program() -> Program:
    return Program()


def parse_program(settings: dict) -> Program:
    """Program from stored or submitted settings; InvalidInput lists every bad field."""
    try:
        return Program.model_validate(settings)
    except ValidationError as exc:
        fields = {".".join(str(p) for p in err["loc"]) or "program": _problem(err) for err in exc.errors()}
        raise InvalidInput("The program settings have problems; fix the fields listed.", fields) from None


def _problem(err: dict) -> str:
    message = err["msg"]
    return message.removeprefix("Value error, ")
