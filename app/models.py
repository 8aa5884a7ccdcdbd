"""Database models (SQLAlchemy 2.0, typed). Every row belongs to one shop (`shop_id`).

Money is stored as integer minor units next to its currency; decimals that are not money
(percentages, multipliers) as exact decimal text. Timestamps are timezone-aware UTC.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import (JSON, BigInteger, Boolean, Date, DateTime, ForeignKey, Index, Integer,
                        LargeBinary, String, Text, TypeDecorator, UniqueConstraint)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
BigId = BigInteger().with_variant(Integer, "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, on SQLite (which stores naive text) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC datetime")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class DecimalText(TypeDecorator):
    """Exact decimals stored as text (SQLite has no exact numeric type)."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect):
        return None if value is None else format(Decimal(value), "f")

    def process_result_value(self, value: str | None, dialect):
        return None if value is None else Decimal(value)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: Json, list[Any]: Json}


class Shop(Base):
    __tablename__ = "shops"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    money_format: Mapped[str | None] = mapped_column(String(64))
    iana_timezone: Mapped[str | None] = mapped_column(String(64))
    # How the token was obtained: oauth, token_exchange or custom_app (`shops add`).
    token_source: Mapped[str | None] = mapped_column(String(20))
    access_token_ciphertext: Mapped[str | None] = mapped_column(Text)
    access_token_expires_at: Mapped[datetime | None]
    refresh_token_ciphertext: Mapped[str | None] = mapped_column(Text)
    refresh_token_expires_at: Mapped[datetime | None]
    scopes: Mapped[str | None] = mapped_column(Text)
    installed_at: Mapped[datetime | None]
    uninstalled_at: Mapped[datetime | None]
    reauth_required_at: Mapped[datetime | None]
    reauth_reason: Mapped[str | None] = mapped_column(Text)
    # SHA-256 of the token integrations (e.g. a reviews app) use to call Tessera for this shop.
    integration_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def is_installed(self) -> bool:
        return self.installed_at is not None and self.uninstalled_at is None


class ProgramVersion(Base):
    """One immutable version of a shop's program rules; ledger entries point at the one used."""

    __tablename__ = "program_versions"
    __table_args__ = (UniqueConstraint("shop_id", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    settings: Mapped[dict[str, Any]]
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("shop_id", "customer_id"),
        UniqueConstraint("shop_id", "referral_code"),
        Index("ix_members_shop_email", "shop_id", "email"),
        Index("ix_members_shop_tier", "shop_id", "tier_key"),
        # The hourly "whose tier period ended" check and the admin's newest-first list.
        Index("ix_members_shop_tier_retained", "shop_id", "tier_retained_until"),
        Index("ix_members_shop_created", "shop_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(BigInteger)
    email: Mapped[str | None] = mapped_column(String(255))
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(64))
    # Hash of the normalised default address, for the self-referral rule (no PII needed).
    address_fingerprint: Mapped[str | None] = mapped_column(String(64))
    account_state: Mapped[str | None] = mapped_column(String(20))
    accepts_marketing: Mapped[bool] = mapped_column(Boolean, default=False)
    birthday: Mapped[date | None] = mapped_column(Date)
    referral_code: Mapped[str] = mapped_column(String(32))
    referred_by_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    tier_key: Mapped[str | None] = mapped_column(String(64))
    tier_since: Mapped[datetime | None]
    # The tier is kept until this moment even if the member falls below its threshold.
    tier_retained_until: Mapped[datetime | None]
    blocked_at: Mapped[datetime | None]
    block_reason: Mapped[str | None] = mapped_column(Text)
    customer_created_at: Mapped[datetime | None]
    last_activity_at: Mapped[datetime | None]
    redacted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def display_name(self) -> str:
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        return name or self.email or f"Customer {self.customer_id}"


class LedgerEntry(Base):
    """Append-only. A correction is a new entry that points at the one it reverses."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("shop_id", "entry_key", name="uq_ledger_entries_shop_entry_key"),
        Index("ix_ledger_member", "shop_id", "member_id", "created_at"),
        Index("ix_ledger_order", "shop_id", "order_id"),
        Index("ix_ledger_expiry", "shop_id", "expires_at"),
        Index("ix_ledger_shop_created", "shop_id", "created_at"),  # analytics by period and month
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    entry_key: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(20))
    points: Mapped[int] = mapped_column(Integer)
    cause_type: Mapped[str] = mapped_column(String(32))
    cause_id: Mapped[str | None] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    program_version_id: Mapped[int | None] = mapped_column(ForeignKey("program_versions.id"))
    order_id: Mapped[int | None] = mapped_column(BigInteger)
    reverses_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    staff_user_id: Mapped[str | None] = mapped_column(String(64))
    # Points a clawback could not take because the member had already spent them.
    shortfall_points: Mapped[int] = mapped_column(Integer, default=0)
    vests_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    details: Mapped[dict[str, Any] | None] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Order(Base):
    """What Tessera knows of a Shopify order: the facts earning and clawback depend on."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("shop_id", "order_id"),
        Index("ix_orders_shop_member", "shop_id", "member_id", "processed_at"),
        Index("ix_orders_shop_processed", "shop_id", "processed_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    name: Mapped[str | None] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    subtotal_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    earning_base_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_base_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    financial_status: Mapped[str | None] = mapped_column(String(32))
    fulfillment_status: Mapped[str | None] = mapped_column(String(32))
    discount_codes: Mapped[list[Any]] = mapped_column(Json, default=list)
    referral_code: Mapped[str | None] = mapped_column(String(64))
    is_test: Mapped[bool] = mapped_column(Boolean, default=False)
    paid_at: Mapped[datetime | None]
    fulfilled_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]
    shopify_updated_at: Mapped[datetime | None]
    facts: Mapped[dict[str, Any] | None] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Where the order was placed: Shopify's `source_name` ("web", "pos", an app id) and, for POS
    # sales, the store location, shown in the member's history as "in store at ...".
    source_name: Mapped[str | None] = mapped_column(String(64))
    location_id: Mapped[int | None] = mapped_column(BigInteger)


class Refund(Base):
    __tablename__ = "refunds"
    __table_args__ = (UniqueConstraint("shop_id", "refund_id"), Index("ix_refunds_order", "shop_id", "order_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    refund_id: Mapped[int] = mapped_column(BigInteger)
    order_id: Mapped[int] = mapped_column(BigInteger)
    # The refunded amounts per earning base part (merchandise after discounts, shipping, tax).
    base_minor: Mapped[int] = mapped_column(BigInteger)
    shipping_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    shipping_tax_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Money refunded beyond the parts above (negative: short of them), see RefundFacts.
    discrepancy_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    currency: Mapped[str] = mapped_column(String(3))
    refunded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Reward(Base):
    """An item of the shop's reward catalog."""

    __tablename__ = "rewards"
    __table_args__ = (Index("ix_rewards_shop", "shop_id", "position"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    points_cost: Mapped[int] = mapped_column(Integer)
    # amount_off: money in shop currency; percent_off: percent (10 = 10 %); store_credit: money.
    value: Mapped[Decimal | None] = mapped_column(DecimalText)
    min_subtotal: Mapped[Decimal | None] = mapped_column(DecimalText)
    code_expiry_days: Mapped[int | None] = mapped_column(Integer)
    combines_with_order: Mapped[bool] = mapped_column(Boolean, default=False)
    combines_with_product: Mapped[bool] = mapped_column(Boolean, default=False)
    combines_with_shipping: Mapped[bool] = mapped_column(Boolean, default=True)
    tier_keys: Mapped[list[Any] | None] = mapped_column(Json)
    per_member_limit: Mapped[int | None] = mapped_column(Integer)
    variant_id: Mapped[int | None] = mapped_column(BigInteger)
    # Points slider: points per one unit of currency, and the bounds a shopper may spend.
    points_per_unit: Mapped[int | None] = mapped_column(Integer)
    min_points: Mapped[int | None] = mapped_column(Integer)
    max_points: Mapped[int | None] = mapped_column(Integer)
    code_prefix: Mapped[str | None] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    deleted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Redemption(Base):
    """Points turned into a discount code (or store credit); the saga's durable state."""

    __tablename__ = "redemptions"
    __table_args__ = (
        UniqueConstraint("shop_id", "member_id", "idempotency_key"),
        Index("ix_redemptions_code", "shop_id", "code", unique=True),
        Index("ix_redemptions_member", "shop_id", "member_id", "created_at"),
        Index("ix_redemptions_status", "shop_id", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    reward_id: Mapped[int | None] = mapped_column(ForeignKey("rewards.id", ondelete="SET NULL"))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    purpose: Mapped[str] = mapped_column(String(20), default="reward")
    status: Mapped[str] = mapped_column(String(20))
    points_spent: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[Decimal | None] = mapped_column(DecimalText)
    currency: Mapped[str | None] = mapped_column(String(3))
    code: Mapped[str | None] = mapped_column(String(64))
    shopify_discount_id: Mapped[str | None] = mapped_column(String(128))
    terms: Mapped[dict[str, Any] | None] = mapped_column(Json)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None]
    issued_at: Mapped[datetime | None]
    used_at: Mapped[datetime | None]
    used_order_id: Mapped[int | None] = mapped_column(BigInteger)
    # Only the holder of an unexpired lease talks to Shopify for this redemption (one writer).
    lease_until: Mapped[datetime | None]
    # Set by the first call to Shopify: a later attempt must first look for what that one did.
    first_attempt_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Referral(Base):
    __tablename__ = "referrals"
    __table_args__ = (
        Index("ix_referrals_referrer", "shop_id", "referrer_member_id", "created_at"),
        Index("ix_referrals_referee", "shop_id", "referee_customer_id"),
        Index("ix_referrals_shop_created", "shop_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    referrer_member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    referee_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    referee_customer_id: Mapped[int | None] = mapped_column(BigInteger)
    referee_email: Mapped[str | None] = mapped_column(String(255))
    # visited -> signed_up -> completed, or blocked (with the reason).
    status: Mapped[str] = mapped_column(String(20))
    block_reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(32))
    order_id: Mapped[int | None] = mapped_column(BigInteger)
    welcome_redemption_id: Mapped[int | None] = mapped_column(ForeignKey("redemptions.id", ondelete="SET NULL"))
    completed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class GuestReferral(Base):
    """A visitor who was not logged in arrived with a referral link and got a welcome code.
    Kept apart from `referrals` (members only): a guest can never see, change or take over a
    member's referral. Only a digest of the email is kept, to give one code per address; the
    code itself is shown once, in the answer that created it."""

    __tablename__ = "guest_referrals"
    __table_args__ = (UniqueConstraint("shop_id", "email_sha256", name="uq_guest_referrals_shop_email"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    referrer_member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    email_sha256: Mapped[str] = mapped_column(String(64))
    welcome_redemption_id: Mapped[int | None] = mapped_column(ForeignKey("redemptions.id", ondelete="SET NULL"),
                                                               index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RateLimitWindow(Base):
    """Fixed-window request counters shared by every web process (e.g. referral landings per
    shop and per client address); old windows are deleted as new ones open."""

    __tablename__ = "rate_limit_windows"
    __table_args__ = (UniqueConstraint("shop_id", "bucket", "window_start", name="uq_rate_limit_windows"),
                      Index("ix_rate_limit_windows_shop_start", "shop_id", "window_start"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    bucket: Mapped[str] = mapped_column(String(200))
    window_start: Mapped[datetime]
    hits: Mapped[int] = mapped_column(Integer, default=0)


class WebhookEvent(Base):
    """The durable inbox: every verified delivery, written before Shopify gets its 200."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        UniqueConstraint("shop_id", "delivery_key", name="uq_webhook_events_shop_delivery"),
        Index("ix_webhook_events_due", "status", "next_attempt_at"),
        Index("ix_webhook_events_shop_received", "shop_id", "received_at"),
        # The body retention sweep: processed deliveries older than WEBHOOK_BODY_RETENTION_DAYS.
        Index("ix_webhook_events_retention", "status", "processed_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(String(64))
    delivery_key: Mapped[str] = mapped_column(String(128))
    event_id: Mapped[str | None] = mapped_column(String(128))
    triggered_at: Mapped[datetime | None]
    api_version: Mapped[str | None] = mapped_column(String(16))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    # pending -> processing -> done | failed (retries exhausted or unprocessable)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(String(64))
    locked_until: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]
    # When the raw body was blanked (retention period over, or the customer was redacted).
    body_erased_at: Mapped[datetime | None]


class MemberNotification(Base):
    """Events raised for a member (e.g. points expiring soon) for emails, Flow or the widget."""

    __tablename__ = "member_notifications"
    __table_args__ = (UniqueConstraint("shop_id", "notification_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    notification_key: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(32))
    points: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime | None]
    payload: Mapped[dict[str, Any] | None] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


class PrivacyRequest(Base):
    """A compliance request and what Tessera did about it (the data export lives here)."""

    __tablename__ = "privacy_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    request_ref: Mapped[str | None] = mapped_column(String(64))
    export: Mapped[dict[str, Any] | None] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]


class ImportJob(Base):
    """Resumable import of customers and historical orders (cursor = Shopify page cursor)."""

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    cursor: Mapped[str | None] = mapped_column(Text)
    # What the owner asked for (e.g. orders since a date, whether past orders earn points).
    options: Mapped[dict[str, Any] | None] = mapped_column(Json)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    # What the import had to leave out and what the owner can do about it (e.g. customer fields
    # Shopify withholds until the app is approved for protected customer data).
    warnings: Mapped[list[dict[str, Any]] | None] = mapped_column(Json)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class BulkExportLine(Base):
    """A line of a bulk export file, kept until its order is imported: Shopify does not promise
    any order of lines (since 2026-01 children are not grouped after their parent), so an order
    is put back together from here rather than from the stream."""

    __tablename__ = "bulk_export_lines"
    __table_args__ = (Index("ix_bulk_export_lines_job_parent", "job_id", "parent_gid", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    job_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"))
    parent_gid: Mapped[str | None] = mapped_column(String(100))  # None for an order's own line
    body: Mapped[str] = mapped_column(Text)


class ShopLocation(Base):
    """A store location's name as the Admin API last gave it (`location(id:)`): POS orders carry
    only the id; the name is looked up once and refreshed when older than a week."""

    __tablename__ = "shop_locations"
    __table_args__ = (UniqueConstraint("shop_id", "location_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    location_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str | None] = mapped_column(String(255))  # None: Shopify no longer knows it
    refreshed_at: Mapped[datetime]
