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
    # The customer's Shopify locale (e.g. "fr-CA"): the language of their emails.
    locale: Mapped[str | None] = mapped_column(String(16))
    # One-click unsubscribe from loyalty emails (RFC 8058); kept apart from marketing consent,
    # which is Shopify's to hold.
    email_unsubscribed_at: Mapped[datetime | None]
    # From customers webhooks and the import: Shopify's comma-separated tags, and the default
    # address's ISO country code (segment conditions customer_tags and country).
    customer_tags: Mapped[str | None] = mapped_column(Text)
    country_code: Mapped[str | None] = mapped_column(String(2))


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
    # The reason as a code and its parameters, rendered in the shopper's language
    # (app.loyalty.wording); `reason` keeps the English sentence for rows without a code.
    reason_code: Mapped[str | None] = mapped_column(String(64))
    reason_params: Mapped[dict[str, Any] | None] = mapped_column(Json)


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
    # variant id -> units refunded (a paid membership's line gives its months back)
    variant_units: Mapped[dict[str, Any] | None] = mapped_column(Json)


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
    # Only paying members (program.membership) may redeem it; hidden from everyone else.
    members_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # The audience (None or empty: every member): members of any of these segments or stages.
    segment_ids: Mapped[list[Any] | None] = mapped_column(Json)
    lifecycle_stages: Mapped[list[Any] | None] = mapped_column(Json)


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


class MemberEventRecord(Base):
    """The outbox of member events (app.loyalty.events), written in the transaction of the change
    and handed to the consumers by services.member_events.dispatch_member_events."""

    __tablename__ = "member_events"
    __table_args__ = (
        UniqueConstraint("shop_id", "event_key", name="uq_member_events_shop_event_key"),
        # The dispatcher's scan: undispatched events, oldest first.
        Index("ix_member_events_undispatched", "dispatched_at", "id"),
        Index("ix_member_events_member", "shop_id", "member_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    event_key: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]]
    occurred_at: Mapped[datetime]
    dispatched_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class AppSubscriptionRecord(Base):
    """A recurring charge for the hosted app (BILLING=on), as Shopify last reported it."""

    __tablename__ = "app_subscriptions"
    __table_args__ = (UniqueConstraint("shop_id", "subscription_gid", name="uq_app_subscriptions_shop_gid"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    subscription_gid: Mapped[str] = mapped_column(String(128))
    plan_key: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20))
    test: Mapped[bool] = mapped_column(Boolean, default=False)
    confirmation_url: Mapped[str | None] = mapped_column(Text)
    current_period_end: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
# ---- games (issue 18): badges, challenges, leaderboard, feedback, donations -------------------

class MemberBadge(Base):
    """A badge a member earned; earned once (its bonus points carry their own ledger key)."""

    __tablename__ = "member_badges"
    __table_args__ = (UniqueConstraint("shop_id", "member_id", "badge_key", name="uq_member_badges_member_badge"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    badge_key: Mapped[str] = mapped_column(String(40))
    # The name when earned: renaming a badge later does not rewrite what the member saw.
    name: Mapped[str] = mapped_column(String(80))
    bonus_points: Mapped[int] = mapped_column(Integer, default=0)
    earned_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChallengeCompletion(Base):
    """One member completing one window of a challenge (a rolling window is named by its start)."""

    __tablename__ = "challenge_completions"
    __table_args__ = (UniqueConstraint("shop_id", "member_id", "challenge_key", "window_start",
                                       name="uq_challenge_completions_window"),
                      Index("ix_challenge_completions_reward", "shop_id", "reward_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    challenge_key: Mapped[str] = mapped_column(String(40))
    window_start: Mapped[datetime]
    ends_at: Mapped[datetime]
    completed_at: Mapped[datetime]
    order_id: Mapped[int | None] = mapped_column(BigInteger)  # the order that completed it, if any
    reward_points: Mapped[int] = mapped_column(Integer, default=0)
    # A catalog reward given as a free code by the reward job (redemption key from ledger.py).
    reward_id: Mapped[int | None] = mapped_column(ForeignKey("rewards.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LeaderboardChoice(Base):
    """Whether a member shows on the monthly leaderboard (nobody does until they opt in)."""

    __tablename__ = "leaderboard_choices"
    __table_args__ = (UniqueConstraint("shop_id", "member_id", name="uq_leaderboard_choices_member"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    opted_in: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class FeedbackAnswer(Base):
    """A member's answer about one of their paid orders: NPS 0-10, CSAT 1-5, optional comment."""

    __tablename__ = "feedback_answers"
    __table_args__ = (UniqueConstraint("shop_id", "order_id", name="uq_feedback_answers_order"),
                      Index("ix_feedback_answers_shop_created", "shop_id", "created_at"),
                      Index("ix_feedback_answers_member", "shop_id", "member_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(BigInteger)
    nps: Mapped[int] = mapped_column(Integer)
    csat: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    points: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Donation(Base):
    """Points a member gave to a cause and the money the shop owes it (matching included)."""

    __tablename__ = "donations"
    __table_args__ = (UniqueConstraint("shop_id", "member_id", "idempotency_key", name="uq_donations_request"),
                      Index("ix_donations_shop_cause", "shop_id", "cause_key", "created_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    cause_key: Mapped[str] = mapped_column(String(40))
    cause_name: Mapped[str] = mapped_column(String(80))
    points: Mapped[int] = mapped_column(Integer)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    matched_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """An owner's key for scripting /api/v1 (`Authorization: Bearer tsk_...`). Only the SHA-256
    of the key is kept, with a short prefix the owner can recognise it by in the list."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(100))
    key_prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class WebhookEndpoint(Base):
    """An owner's URL that receives Tessera's member events, signed per Standard Webhooks. The
    signing secret is encrypted like the shop tokens (it must be read back to sign)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list[Any]]
    secret_ciphertext: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when deliveries failed for a day: nothing more is sent until the owner re-creates it.
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(Text)


class WebhookDelivery(Base):
    """One member event for one endpoint: the exact body sent (so every retry signs the same
    bytes under the same message id) and how its attempts went."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("endpoint_id", "event_id"),
                      Index("ix_webhook_deliveries_due", "status", "next_attempt_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    response_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


class KlaviyoAccount(Base):
    """A shop's connection to Klaviyo: the private API key, encrypted like the shop tokens."""

    __tablename__ = "klaviyo_accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), unique=True)
    api_key_ciphertext: Mapped[str] = mapped_column(Text)
    key_hint: Mapped[str] = mapped_column(String(16))
    connected_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_synced_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class KlaviyoSync(Base):
    """Work for Klaviyo: a member's profile to refresh (one row per member while it waits, so a
    burst of changes becomes one update) or one event to send (one row per member event)."""

    __tablename__ = "klaviyo_syncs"
    __table_args__ = (UniqueConstraint("shop_id", "sync_key"),
                      Index("ix_klaviyo_syncs_due", "status", "next_attempt_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    # profile:{member_id} (re-armed on every change, so never more than one per member) or
    # event:{member event id} (so a retried batch of events adds nothing twice).
    sync_key: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(16))
    metric: Mapped[str | None] = mapped_column(String(64))
    properties: Mapped[dict[str, Any] | None] = mapped_column(Json)
    occurred_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class CustomerMetafieldSync(Base):
    """A member whose customer metafields ($app:loyalty) are out of date: marked by the member
    events consumer, written by the periodic job at most once a minute per member
    (services.customer_metafields)."""

    __tablename__ = "customer_metafield_syncs"
    __table_args__ = (
        UniqueConstraint("shop_id", "member_id", name="uq_customer_metafield_syncs_member"),
        Index("ix_customer_metafield_syncs_due", "dirty_since"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    dirty_since: Mapped[datetime | None]  # None: Shopify shows the member as Tessera does
    written_at: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(Integer, default=0)
    retry_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class FlowTriggerUse(Base):
    """Whether a shop has an enabled Flow workflow starting with one of our triggers, as Flow's
    lifecycle callback last said (triggers are only sent while one does)."""

    __tablename__ = "flow_trigger_uses"
    __table_args__ = (UniqueConstraint("shop_id", "trigger_handle", name="uq_flow_trigger_uses_shop_trigger"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    trigger_handle: Mapped[str] = mapped_column(String(64))
    in_use: Mapped[bool] = mapped_column(Boolean, default=False)
    reported_at: Mapped[datetime]  # Flow's timestamp: an older callback never overrides a newer one


class FlowTriggerSend(Base):
    """A Flow trigger to send (flowTriggerReceive), one per cause, retried with backoff."""

    __tablename__ = "flow_trigger_sends"
    __table_args__ = (
        UniqueConstraint("shop_id", "send_key", name="uq_flow_trigger_sends_shop_key"),
        Index("ix_flow_trigger_sends_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    trigger_handle: Mapped[str] = mapped_column(String(64))
    send_key: Mapped[str] = mapped_column(String(160))
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class MemberEmail(Base):
    """One email to send (a member's message or an owner notice) and what became of it: the
    outbox the mail job works through and the log the owner reads."""

    __tablename__ = "member_emails"
    __table_args__ = (
        UniqueConstraint("shop_id", "message_key", name="uq_member_emails_shop_message_key"),
        Index("ix_member_emails_due", "status", "next_attempt_at"),
        Index("ix_member_emails_shop_created", "shop_id", "created_at"),
        # The daily cap: what a member was sent since the start of the day.
        Index("ix_member_emails_member_sent", "shop_id", "member_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    # None for notices to the owner (sent to the shop's email).
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    # Idempotency: derived from the cause (an event id, a notification, a day), unique per shop.
    message_key: Mapped[str] = mapped_column(String(160))
    # queued -> sent | failed | suppressed (with the reason in `error`)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    # The facts the message is rendered from (points, reward, tier, code ...).
    data: Mapped[dict[str, Any] | None] = mapped_column(Json)
    recipient: Mapped[str | None] = mapped_column(String(255))
    subject: Mapped[str | None] = mapped_column(Text)
    locale: Mapped[str | None] = mapped_column(String(8))
    message_id: Mapped[str | None] = mapped_column(String(255))
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RewardReadyMark(Base):
    """A member was told a reward is within reach; removed when the balance falls below its cost
    again, so the next crossing tells them again (once per crossing)."""

    __tablename__ = "reward_ready_marks"
    __table_args__ = (UniqueConstraint("shop_id", "member_id", "reward_id", name="uq_reward_ready_marks"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    reward_id: Mapped[int] = mapped_column(ForeignKey("rewards.id", ondelete="CASCADE"))
    reached_at: Mapped[datetime]


class CashbackPayout(Base):
    """One movement of store credit for an order's cashback (the credit, a refund's debit, a
    cancellation's reversal), and the saga's durable state for paying it exactly once."""

    __tablename__ = "cashback_payouts"
    __table_args__ = (
        UniqueConstraint("shop_id", "payout_key", name="uq_cashback_payouts_shop_key"),
        Index("ix_cashback_payouts_due", "status", "due_at"),
        Index("ix_cashback_payouts_member", "shop_id", "member_id", "created_at"),
        Index("ix_cashback_payouts_order", "shop_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(BigInteger)
    payout_key: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(10))  # credit | debit
    refund_id: Mapped[int | None] = mapped_column(BigInteger)
    amount_minor: Mapped[int] = mapped_column(BigInteger)  # what the rule asks for
    base_minor: Mapped[int | None] = mapped_column(BigInteger)
    # What moved in Shopify: a credit's net of refunds before payment; a debit limited by the balance.
    paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    shortfall_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    # pending -> paid | netted (folded into its credit before payment) | failed (Shopify refused)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime]
    shopify_transaction_id: Mapped[str | None] = mapped_column(String(128))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    first_attempt_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PaidMembership(Base):
    """A member's paid membership (program.membership): next to the earned tier, until ends_at."""

    __tablename__ = "paid_memberships"
    __table_args__ = (UniqueConstraint("shop_id", "member_id", name="uq_paid_memberships_shop_member"),
                      Index("ix_paid_memberships_shop_ends", "shop_id", "ends_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    started_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MembershipGrant(Base):
    """The months one paid order added to a membership (once per order), and those given back."""

    __tablename__ = "membership_grants"
    __table_args__ = (UniqueConstraint("shop_id", "order_id", name="uq_membership_grants_shop_order"),
                      Index("ix_membership_grants_member", "shop_id", "member_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(BigInteger)
    months: Mapped[int] = mapped_column(Integer)
    months_returned: Mapped[int] = mapped_column(Integer, default=0)
    units_refunded: Mapped[int] = mapped_column(Integer, default=0)
    granted_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]  # the order was cancelled or refunded in full
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Household(Base):
    __tablename__ = "households"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    created_by_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class HouseholdMember(Base):
    """A member belongs to at most one household of a shop."""

    __tablename__ = "household_members"
    __table_args__ = (UniqueConstraint("shop_id", "member_id", name="uq_household_members_shop_member"),
                      Index("ix_household_members_household", "shop_id", "household_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    joined_at: Mapped[datetime]


class HouseholdInvitation(Base):
    """An invitation to join a household; only a digest of its token is kept. The email is kept
    so the invitation can be sent (by email, once members get emails)."""

    __tablename__ = "household_invitations"
    __table_args__ = (UniqueConstraint("shop_id", "token_sha256", name="uq_household_invitations_shop_token"),
                      Index("ix_household_invitations_household", "shop_id", "household_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    inviter_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    email: Mapped[str] = mapped_column(String(255))
    token_sha256: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    accepted_by_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MemberMetrics(Base):
    """Per member: the paid-order figures, lifecycle stage and RFM scores segments filter on.
    Derived (services.member_metrics recomputes it), never a source of truth."""

    __tablename__ = "member_metrics"
    # Segments filter on many columns at once (a scan of the shop's rows); the one index serves
    # win-back, which looks for recent stage changes. Fewer indexes: a cheaper hourly rewrite.
    __table_args__ = (Index("ix_member_metrics_shop_entered", "shop_id", "stage_entered_at"),)

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    orders_count: Mapped[int] = mapped_column(Integer, default=0)
    total_spent_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    first_order_at: Mapped[datetime | None]
    last_order_at: Mapped[datetime | None]
    # Paid orders and money of the last 24 months: what frequency and monetary rank.
    recent_orders_count: Mapped[int] = mapped_column(Integer, default=0)
    recent_spent_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    lifecycle_stage: Mapped[str] = mapped_column(String(16))
    stage_entered_at: Mapped[datetime]
    previous_stage: Mapped[str | None] = mapped_column(String(16))
    rfm_recency: Mapped[int | None] = mapped_column(Integer)
    rfm_frequency: Mapped[int | None] = mapped_column(Integer)
    rfm_monetary: Mapped[int | None] = mapped_column(Integer)
    rfm_segment: Mapped[str | None] = mapped_column(String(24))
    computed_at: Mapped[datetime]  # when the figures last changed (an unchanged row is not rewritten)


class Segment(Base):
    """An owner-defined group of members: conditions on member figures, matched all or any."""

    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("shop_id", "name", name="uq_segments_shop_name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    match: Mapped[str] = mapped_column(String(3))
    conditions: Mapped[list[Any]] = mapped_column(Json)
    # "Sync to Shopify": the customer tag, how far the sync got (member id) and its state.
    shopify_tag: Mapped[str | None] = mapped_column(String(40))
    sync_status: Mapped[str | None] = mapped_column(String(16))
    sync_cursor: Mapped[int | None] = mapped_column(BigInteger)
    sync_error: Mapped[str | None] = mapped_column(Text)
    synced_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SegmentSnapshot(Base):
    """A segment's size on a day (custom segments by id, lifecycle stages by `lifecycle:STAGE`)."""

    __tablename__ = "segment_snapshots"
    __table_args__ = (UniqueConstraint("shop_id", "segment_key", "day", name="uq_segment_snapshots_day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    segment_key: Mapped[str] = mapped_column(String(40))
    day: Mapped[date] = mapped_column(Date)
    members: Mapped[int] = mapped_column(Integer)


class SegmentTagMember(Base):
    """A member Tessera tagged in Shopify for a segment, so a later sync removes the tag from
    those who left the segment (and only from them)."""

    __tablename__ = "segment_tag_members"

    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))


class WinBackEntry(Base):
    """A member entering at_risk, and what the win-back automation did: granted (the ledger key
    of the bonus, or the redemption of the reward), or not reached (off, cool_down)."""

    __tablename__ = "win_back_entries"
    __table_args__ = (UniqueConstraint("shop_id", "member_id", "entered_at", name="uq_win_back_entries_entry"),
                      Index("ix_win_back_entries_shop_entered", "shop_id", "entered_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    entered_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(16))
    entry_key: Mapped[str | None] = mapped_column(String(160))
    redemption_id: Mapped[int | None] = mapped_column(ForeignKey("redemptions.id", ondelete="SET NULL"))
    # entered_at + 30 days: a paid order by then counts as coming back.
    return_window_ends_at: Mapped[datetime]


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
