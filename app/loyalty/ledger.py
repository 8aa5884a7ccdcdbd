"""The points ledger's vocabulary: entry kinds, idempotency keys, balances, explanations.

Entries are never edited. Every entry's key is derived from its cause, so the same cause can
never be counted twice (a unique index on shop + key enforces it), and a correction is a new
entry pointing at the one it corrects.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from typing import NamedTuple


class EntryKind(StrEnum):
    EARN = "earn"  # points for an order or an action
    REDEEM = "redeem"  # points spent on a reward
    REVERSAL = "reversal"  # a redemption or a mistake undone (points back)
    CLAWBACK = "clawback"  # earned points taken back (refund, cancellation)
    EXPIRE = "expire"
    ADJUST = "adjust"  # staff adjustment, reason required
    IMPORT = "import"  # starting balance imported from another program
    DONATION = "donation"  # points given to a cause the shop supports (charity.py)


# Kinds that count towards "lifetime earned": what the member earned, net of take-backs.
EARNING_KINDS = (EntryKind.EARN, EntryKind.CLAWBACK, EntryKind.ADJUST, EntryKind.IMPORT)


def order_earn_key(order_id: int) -> str:
    return f"order:{order_id}:earn"


def order_reversal_key(order_id: int) -> str:
    return f"order:{order_id}:reversal"


def order_edit_key(order_id: int, updated_at: datetime | None, base_minor: int) -> str:
    """The difference an order edit makes, keyed by the edited order's `updated_at`, so a later
    delivery of the same state adds nothing and a further edit gets its own entry (an order
    without `updated_at` is keyed by the base it was edited to)."""
    version = updated_at.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ") if updated_at else f"base{base_minor}"
    return f"order:{order_id}:edit:{version}"


def order_streak_key(order_id: int) -> str:
    return f"order:{order_id}:streak"


def refund_clawback_key(refund_id: int) -> str:
    return f"refund:{refund_id}:clawback"


def action_key(member_id: int, action: str, scope: str | None = None) -> str:
    # Keys are unique per shop, so member-scoped causes carry the member id.
    return f"member:{member_id}:action:{action}" + (f":{scope}" if scope else "")


def win_back_key(member_id: int, entered_at: datetime) -> str:
    """The win-back bonus of one entry into at_risk (the day the member entered it)."""
    return f"member:{member_id}:win_back:{entered_at.astimezone(timezone.utc):%Y%m%d}"


def redemption_debit_key(redemption_id: int) -> str:
    return f"redemption:{redemption_id}:debit"


def redemption_return_key(redemption_id: int, why: str) -> str:
    return f"redemption:{redemption_id}:return:{why}"


def tier_entry_key(member_id: int, tier_key: str) -> str:
    return f"member:{member_id}:tier:{tier_key}:entry"


def referral_reward_key(referral_id: int) -> str:
    return f"referral:{referral_id}:reward"


def referral_reversal_key(referral_id: int) -> str:
    return f"referral:{referral_id}:reversal"


def referral_welcome_key(referral_id: int) -> str:
    return f"referral:{referral_id}:welcome"


def guest_referral_welcome_key(guest_referral_id: int, *, retry_after: int | None = None) -> str:
    suffix = f":after-{retry_after}" if retry_after else ""
    return f"guest-referral:{guest_referral_id}:welcome{suffix}"


def redemption_late_use_key(redemption_id: int) -> str:
    return f"redemption:{redemption_id}:late_use"


def adjustment_key(member_id: int, idempotency_key: str) -> str:
    return f"member:{member_id}:adjust:{idempotency_key}"


def starting_balance_key(member_id: int) -> str:
    return f"member:{member_id}:import:starting_balance"


def tier_entry_reward_key(tier_key: str) -> str:
    return f"tier:{tier_key}:entry-reward"


def tier_free_shipping_key(tier_key: str, until: datetime | None) -> str:
    return f"tier:{tier_key}:free-shipping:{until:%Y%m%d}" if until else f"tier:{tier_key}:free-shipping"


def badge_bonus_key(member_id: int, badge_key: str) -> str:
    return f"member:{member_id}:badge:{badge_key}"


def challenge_reward_key(member_id: int, challenge_key: str, window_start: datetime) -> str:
    """One reward per member, challenge and window (a rolling window is named by its start)."""
    return f"member:{member_id}:challenge:{challenge_key}:{window_start.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}"


def feedback_reward_key(order_id: int) -> str:
    return f"order:{order_id}:feedback"


def donation_key(member_id: int, request_key: str) -> str:
    """The member's request key (Idempotency-Key header or client id): a retried donation counts once."""
    return f"member:{member_id}:donation:{request_key}"


class Balance(NamedTuple):
    balance: int  # spendable now
    pending: int  # earned but not vested yet (e.g. inside the return window)
    lifetime_earned: int


@dataclass(frozen=True)
class ExplainedEntry:
    created_at: datetime
    kind: str
    points: int
    reason: str
    running_balance: int
    pending_until: datetime | None
    expires_at: datetime | None


def explain(entries, *, at: datetime) -> list[ExplainedEntry]:
    """Entries oldest first with the spendable balance after each: the "why" of a balance.
    Pending entries do not move the running balance until they vest."""
    running = 0
    explained = []
    for entry in entries:
        pending = entry.vests_at is not None and entry.vests_at > at
        if not pending:
            running += entry.points
        explained.append(ExplainedEntry(entry.created_at, entry.kind, entry.points, entry.reason, running,
                                        entry.vests_at if pending else None, entry.expires_at))
    return explained
