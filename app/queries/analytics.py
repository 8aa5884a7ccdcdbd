"""Program analytics for the owner: members, points, money, retention, referrals, tiers.

Every figure carries its definition (shown one click away in the admin). The shared terms:
- A *member* is a customer enrolled in the program: Tessera knows them and they have a store
  account (Shopify account state "enabled"), so they can see and spend points. Customers
  without an account, and guest checkouts, are *non-members*.
- An *order* is a paid order that is not a test, not cancelled and not refunded in full, dated
  by when it was processed; its *net revenue* is its total (shop currency, shipping and tax
  included) minus what was refunded on it.
- Months are calendar months in UTC; the current month is counted to date.
Read-only: no commits.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import and_, case, distinct, func, select
from sqlalchemy.orm import Session

from app.loyalty.expiry import add_months
from app.loyalty.money import exponent, format_money
from app.models import LedgerEntry, Member, Order, Referral, Refund, Reward, Shop
from app.queries.pooled_analytics import pooled_figures
from app.services.program import current_program

ENROLLED_STATE = "enabled"
MONEY_REWARD_KINDS = ("amount_off", "store_credit")


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: int | Decimal | None
    display: str
    definition: str
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        value = str(self.value) if isinstance(self.value, Decimal) else self.value
        return {"key": self.key, "label": self.label, "value": value, "display": self.display,
                "definition": self.definition, "note": self.note}


@dataclass
class Analytics:
    currency: str
    start: datetime
    end: datetime
    months: list[str]
    figures: dict[str, Figure] = field(default_factory=dict)
    # month ("YYYY-MM") -> value, one dict per series
    series: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    funnel: list[dict[str, Any]] = field(default_factory=list)
    tiers: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        def plain(v):
            return str(v) if isinstance(v, Decimal) else v
        return {"currency": self.currency, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "months": self.months, "figures": {k: f.to_json() for k, f in self.figures.items()},
                "series": {name: {m: {k: plain(v) for k, v in values.items()} for m, values in by_month.items()}
                           for name, by_month in self.series.items()},
                "funnel": self.funnel, "tiers": self.tiers}


# ---- helpers --------------------------------------------------------------------------------

def month_starts(now: datetime, months: int) -> list[datetime]:
    first = now.astimezone(timezone.utc).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return [add_months(first, -i) for i in range(months - 1, -1, -1)]


def month_key(at: datetime) -> str:
    return at.strftime("%Y-%m")


def _month_of(session: Session, column):
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.strftime("%Y-%m", column)  # SQLite stores UTC text


def percent(rate: Decimal | None) -> str:
    return "n/a" if rate is None else f"{(rate * 100).quantize(Decimal('0.1'), ROUND_HALF_UP)}%"


def ratio(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    return None if not whole else Decimal(part) / Decimal(whole)


def _count(n: int) -> str:
    return f"{n:,}"


def _enrolled():
    return and_(Member.account_state == ENROLLED_STATE, Member.redacted_at.is_(None))


# ---- members --------------------------------------------------------------------------------

def _member_figures(session: Session, shop: Shop, a: Analytics, now: datetime) -> None:
    members = session.scalar(select(func.count()).select_from(Member).where(
        Member.shop_id == shop.id, _enrolled(), Member.created_at <= now))
    tracked = session.scalar(select(func.count()).select_from(Member).where(Member.shop_id == shop.id))
    participating = session.scalar(select(func.count(distinct(LedgerEntry.member_id))).join(
        Member, Member.id == LedgerEntry.member_id).where(
        LedgerEntry.shop_id == shop.id, _enrolled(), LedgerEntry.created_at >= a.start, LedgerEntry.created_at <= a.end,
        ((LedgerEntry.kind == "earn") & (LedgerEntry.cause_type == "order")) | (LedgerEntry.kind == "redeem")))
    rate = ratio(participating, members)
    a.figures["members"] = Figure("members", "Members", members, _count(members),
                                  "Customers enrolled in the program: Tessera knows them and they have a store "
                                  "account (account state enabled), so they can see and spend points.",
                                  note=f"{_count(tracked)} customers tracked in all")
    a.figures["participation_rate"] = Figure(
        "participation_rate", "Participation rate", rate, percent(rate),
        "Members who earned points for an order or redeemed a reward in the period, divided by all members.",
        note=f"{_count(participating)} of {_count(members)} members")
    month = _month_of(session, Member.created_at)
    joined = dict(session.execute(select(month, func.count()).where(
        Member.shop_id == shop.id, _enrolled(), Member.created_at >= a.start, Member.created_at <= a.end)
        .group_by(month)).all())
    a.series["new_members"] = {m: {"members": int(joined.get(m, 0))} for m in a.months}


# ---- points ---------------------------------------------------------------------------------

def _flows(rows) -> dict[str, int]:
    """(kind, positive sum, negative sum) rows -> issued, taken back, redeemed, expired."""
    pos, neg = defaultdict(int), defaultdict(int)
    for kind, plus, minus in rows:
        pos[kind] += int(plus or 0)
        neg[kind] += int(minus or 0)
    return {"issued": pos["earn"] + pos["adjust"] + pos["import"],
            "taken_back": -(neg["clawback"] + neg["adjust"] + neg["earn"]),
            "redeemed": -neg["redeem"] - pos["reversal"], "expired": -neg["expire"]}


def _point_sums(*group_by):
    return (*group_by, LedgerEntry.kind, func.sum(case((LedgerEntry.points > 0, LedgerEntry.points), else_=0)),
            func.sum(case((LedgerEntry.points < 0, LedgerEntry.points), else_=0)))


def _outstanding(session: Session, shop: Shop, now: datetime) -> tuple[int, int]:
    """Spendable points (sum of positive balances) and points still pending, now."""
    vested = (LedgerEntry.vests_at.is_(None)) | (LedgerEntry.vests_at <= now)
    per_member = select(func.sum(case((vested, LedgerEntry.points), else_=0)).label("balance"),
                        func.sum(case((vested, 0), else_=LedgerEntry.points)).label("pending")).where(
        LedgerEntry.shop_id == shop.id, LedgerEntry.created_at <= now).group_by(LedgerEntry.member_id).subquery()
    spendable, pending = session.execute(select(
        func.coalesce(func.sum(case((per_member.c.balance > 0, per_member.c.balance), else_=0)), 0),
        func.coalesce(func.sum(per_member.c.pending), 0))).one()
    return int(spendable), int(pending)


def point_value(session: Session, shop: Shop) -> tuple[Decimal | None, str]:
    """Money per point: the best rate among enabled rewards with a fixed money value (amount
    off, store credit, points slider). A member can always get at least this for a point."""
    best, source = None, ""
    for reward in session.scalars(select(Reward).where(Reward.shop_id == shop.id, Reward.enabled.is_(True),
                                                       Reward.deleted_at.is_(None))):
        if reward.kind in MONEY_REWARD_KINDS and reward.value and reward.points_cost:
            rate = reward.value / reward.points_cost
            text = f"{reward.name}: {reward.points_cost:,} points = {format_money(_minor(reward.value, shop), shop.currency)}"
        elif reward.kind == "points_slider" and reward.points_per_unit:
            rate = Decimal(1) / reward.points_per_unit
            text = f"{reward.name}: {reward.points_per_unit:,} points = {format_money(_minor(1, shop), shop.currency)}"
        else:
            continue
        if best is None or rate > best:
            best, source = rate, text
    return best, source


def _minor(amount: Decimal | int, shop: Shop) -> int:
    return int((Decimal(amount) * 10 ** exponent(shop.currency)).quantize(Decimal(1), ROUND_HALF_UP))


def _point_figures(session: Session, shop: Shop, a: Analytics, now: datetime) -> None:
    in_period = (LedgerEntry.shop_id == shop.id, LedgerEntry.created_at >= a.start, LedgerEntry.created_at <= a.end)
    flows = _flows(session.execute(select(*_point_sums()).where(*in_period).group_by(LedgerEntry.kind)).all())
    month = _month_of(session, LedgerEntry.created_at)
    by_month = defaultdict(list)
    for m, kind, plus, minus in session.execute(select(*_point_sums(month)).where(*in_period).group_by(month,
                                                                                                  LedgerEntry.kind)):
        by_month[m].append((kind, plus, minus))
    a.series["points"] = {m: _flows(by_month.get(m, [])) for m in a.months}
    spendable, pending = _outstanding(session, shop, now)
    defs = {
        "points_issued": ("Points issued", "Points given to members in the period: for orders and actions, "
                          "imported starting balances and staff additions (before any take-back)."),
        "points_redeemed": ("Points redeemed", "Points spent on rewards in the period, minus points given back "
                            "(failed codes, cancelled orders that used a code, returned expired codes)."),
        "points_expired": ("Points expired", "Points removed by the expiry policy in the period."),
    }
    for key, (label, definition) in defs.items():
        value = flows[key.removeprefix("points_")]
        a.figures[key] = Figure(key, label, value, _count(value), definition)
    a.figures["points_outstanding"] = Figure(
        "points_outstanding", "Points outstanding", spendable, _count(spendable),
        "Points members can spend right now: the sum of all positive balances today. Points still pending "
        "(inside the return window) are not included.", note=f"{_count(pending)} more pending")
    rate = ratio(flows["redeemed"], flows["issued"])
    a.figures["redemption_rate"] = Figure("redemption_rate", "Redemption rate", rate, percent(rate),
                                          "Points redeemed in the period divided by points issued in the period.",
                                          note=f"{_count(flows['taken_back'])} points taken back by refunds, "
                                               "cancellations and staff")
    _liability(session, shop, a, spendable)


def _liability(session: Session, shop: Shop, a: Analytics, spendable: int) -> None:
    rate, source = point_value(session, shop)
    if rate is None:
        a.figures["liability"] = Figure(
            "liability", "Points liability", None, "n/a",
            "Outstanding points valued at the best money-per-point rate among your enabled rewards with a fixed "
            "money value (amount off, store credit, points slider). You have none, so points have no money value "
            "to report.")
        return
    per_point = rate.quantize(Decimal("0.0001"), ROUND_HALF_UP).normalize()
    a.figures["liability"] = money_figure(
        shop, "liability", "Points liability", _minor(Decimal(spendable) * rate, shop),
        "Points outstanding x the money value of one point. One point is valued at the best rate among your "
        f"enabled rewards with a fixed money value: {source}, so {per_point} {shop.currency} per point. "
        "Percentage-off, free-shipping and free-product rewards have no fixed value and are not used.",
        note=f"{per_point} {shop.currency} per point")


# ---- orders and money -----------------------------------------------------------------------

def _orders(session: Session, shop: Shop):
    """Counted orders with net revenue, member flag and customer, as a subquery."""
    refunds = (select(Refund.order_id.label("order_id"),
                      func.sum(Refund.base_minor + Refund.shipping_minor + Refund.tax_minor).label("refunded"))
               .where(Refund.shop_id == shop.id).group_by(Refund.order_id).subquery())
    is_member = case((and_(Member.account_state == ENROLLED_STATE, Member.redacted_at.is_(None)), 1), else_=0)
    return (select(Order.order_id, Order.customer_id, Order.member_id, Order.processed_at,
                   is_member.label("is_member"),
                   (Order.total_minor - func.coalesce(refunds.c.refunded, 0)).label("net"))
            .outerjoin(refunds, refunds.c.order_id == Order.order_id)
            .outerjoin(Member, Member.id == Order.member_id)
            .where(Order.shop_id == shop.id, Order.paid_at.is_not(None), Order.is_test.is_(False),
                   Order.cancelled_at.is_(None), func.coalesce(Order.financial_status, "") != "refunded",
                   Order.processed_at.is_not(None)).subquery())


def _money(minor: int, shop: Shop) -> str:
    return format_money(int(minor), shop.currency)


def _average_minor(total_minor: int, count: int) -> int | None:
    return None if not count else int((Decimal(total_minor) / count).quantize(Decimal(1), ROUND_HALF_UP))


def money_figure(shop: Shop, key: str, label: str, minor: int | None, definition: str, note: str | None = None):
    """A money figure: the value in currency units (Decimal), displayed in the shop's currency."""
    value = None if minor is None else Decimal(minor) / 10 ** exponent(shop.currency)
    return Figure(key, label, value, "n/a" if minor is None else _money(minor, shop), definition, note)


def _order_figures(session: Session, shop: Shop, a: Analytics) -> None:
    orders = _orders(session, shop)
    period = (orders.c.processed_at >= a.start, orders.c.processed_at <= a.end)
    totals = {flag: (int(n), int(net or 0)) for flag, n, net in session.execute(
        select(orders.c.is_member, func.count(), func.sum(orders.c.net)).where(*period).group_by(orders.c.is_member))}
    members, others = totals.get(1, (0, 0)), totals.get(0, (0, 0))
    revenue = members[1] + others[1]
    a.figures["revenue_members"] = money_figure(
        shop, "revenue_members", "Revenue from members", members[1],
        "Net revenue of members' orders in the period (order totals minus refunds).",
        note=f"{percent(ratio(members[1], revenue))} of {_money(revenue, shop)} revenue")
    _aov_figures(a, shop, members, others)
    _repeat_figures(session, a, orders, period)
    _clv_figures(session, shop, a, orders)
    a.series["revenue"] = _revenue_by_month(session, a, orders, period)


def _revenue_by_month(session: Session, a: Analytics, orders, period) -> dict[str, dict[str, int]]:
    month = _month_of(session, orders.c.processed_at)
    revenue = defaultdict(lambda: {"members": 0, "non_members": 0})
    for m, flag, net in session.execute(select(month, orders.c.is_member, func.sum(orders.c.net)).where(*period)
                                        .group_by(month, orders.c.is_member)):
        revenue[m]["members" if flag else "non_members"] = int(net or 0)
    return {m: dict(revenue[m]) for m in a.months}


def _aov_figures(a: Analytics, shop: Shop, members: tuple[int, int], others: tuple[int, int]) -> None:
    """members/others: (orders, net revenue in minor units) in the period."""
    member_aov, other_aov = _average_minor(members[1], members[0]), _average_minor(others[1], others[0])
    a.figures["aov"] = money_figure(
        shop, "aov", "Average order value", _average_minor(members[1] + others[1], members[0] + others[0]),
        "Net revenue divided by the number of orders, in the period.",
        note="members " + ("n/a" if member_aov is None else _money(member_aov, shop)) + ", non-members " +
             ("n/a" if other_aov is None else _money(other_aov, shop)))
    a.figures["aov_members"] = money_figure(
        shop, "aov_members", "Average order value, members", member_aov,
        "Members' net revenue divided by members' orders, in the period.", note=f"{_count(members[0])} orders")
    a.figures["aov_non_members"] = money_figure(
        shop, "aov_non_members", "Average order value, non-members", other_aov,
        "Non-members' net revenue (guest checkouts included) divided by their orders, in the period.",
        note=f"{_count(others[0])} orders")


def _repeat_figures(session: Session, a: Analytics, orders, period) -> None:
    per_customer = (select(orders.c.customer_id, orders.c.is_member, func.count().label("n"))
                    .where(*period, orders.c.customer_id.is_not(None))
                    .group_by(orders.c.customer_id, orders.c.is_member).subquery())
    rows = {flag: (int(buyers), int(repeat or 0)) for flag, buyers, repeat in session.execute(
        select(per_customer.c.is_member, func.count(), func.sum(case((per_customer.c.n >= 2, 1), else_=0)))
        .group_by(per_customer.c.is_member))}
    for flag, key, who in ((1, "repeat_rate_members", "members"), (0, "repeat_rate_non_members", "non-members")):
        buyers, repeat = rows.get(flag, (0, 0))
        rate = ratio(repeat, buyers)
        a.figures[key] = Figure(
            key, f"Repeat purchase rate, {who}", rate, percent(rate),
            f"Of the {who} who placed at least one order in the period, the share who placed two or more. "
            "Guest checkouts are left out (there is no customer to tell a repeat by).",
            note=f"{_count(repeat)} of {_count(buyers)} customers")


def _clv_figures(session: Session, shop: Shop, a: Analytics, orders) -> None:
    rows = {flag: (int(customers), int(net or 0)) for flag, customers, net in session.execute(
        select(orders.c.is_member, func.count(distinct(orders.c.customer_id)), func.sum(orders.c.net))
        .where(orders.c.customer_id.is_not(None)).group_by(orders.c.is_member))}
    for flag, key, who in ((1, "clv_members", "members"), (0, "clv_non_members", "non-members")):
        customers, net = rows.get(flag, (0, 0))
        a.figures[key] = money_figure(
            shop, key, f"Customer lifetime value, {who}", _average_minor(net, customers),
            f"Average net revenue per customer to date, over the {who} who ordered at least once: every order "
            "Tessera knows of (received since install or imported), not only the period.",
            note=f"{_count(customers)} customers")


# ---- retention ------------------------------------------------------------------------------

def _retention(session: Session, shop: Shop, a: Analytics) -> None:
    """Of the members who ordered in month M-1, the share who ordered again in month M."""
    orders = _orders(session, shop)
    before = add_months(a.start, -1)
    month = _month_of(session, orders.c.processed_at)
    buyers: dict[str, set[int]] = defaultdict(set)
    for m, member_id in session.execute(select(month, orders.c.member_id).distinct().where(
            orders.c.is_member == 1, orders.c.processed_at >= before, orders.c.processed_at <= a.end)):
        buyers[m].add(member_id)
    series = {}
    for previous, m in zip([month_key(before)] + a.months, a.months):
        cohort = buyers.get(previous, set())
        kept = len(cohort & buyers.get(m, set()))
        rate = ratio(kept, len(cohort))
        series[m] = {"cohort": len(cohort), "retained": kept, "retention": rate,
                     "churn": None if rate is None else 1 - rate}
    a.series["retention"] = series
    latest = next((m for m in reversed(a.months[:-1]) if series[m]["retention"] is not None), None)
    rate = series[latest]["retention"] if latest else None
    definition = ("Retention in month M: of the members who ordered in the month before, the share who ordered "
                  "again in month M. Churn is the rest (1 - retention). The current month is counted to date, so "
                  "the figure shows the last complete month.")
    a.figures["retention"] = Figure("retention", "Monthly retention", rate, percent(rate), definition,
                                    note=f"{latest}" if latest else "needs two months of member orders")
    a.figures["churn"] = Figure("churn", "Monthly churn", None if rate is None else 1 - rate,
                                percent(None if rate is None else 1 - rate), definition,
                                note=f"{latest}" if latest else None)


# ---- referrals and tiers --------------------------------------------------------------------

def _referrals(session: Session, shop: Shop, a: Analytics) -> None:
    counts = Counter(dict(session.execute(select(Referral.status, func.count()).where(
        Referral.shop_id == shop.id, Referral.created_at >= a.start, Referral.created_at <= a.end)
        .group_by(Referral.status)).all()))
    visited = sum(counts.values())
    signed_up = counts["signed_up"] + counts["completed"]
    a.funnel = [
        {"stage": "visited", "label": "Referral links opened", "count": visited,
         "definition": "Visitors who arrived with a member's referral link or code in the period (every referral "
                       "starts here, blocked ones included)."},
        {"stage": "signed_up", "label": "Signed up", "count": signed_up,
         "definition": "Of those, referees with a customer account (signed up or completed)."},
        {"stage": "completed", "label": "Completed", "count": counts["completed"],
         "definition": "Referees whose first paid order reached the minimum, so the referrer was rewarded."},
        {"stage": "blocked", "label": "Blocked", "count": counts["blocked"],
         "definition": "Referrals refused: self-referrals, repeat referees or referrers over their cap."},
    ]
    rate = ratio(counts["completed"], visited)
    a.figures["referral_conversion"] = Figure(
        "referral_conversion", "Referral conversion", rate, percent(rate),
        "Completed referrals divided by referral links opened, for referrals started in the period.",
        note=f"{_count(counts['completed'])} of {_count(visited)}")


def _tiers(session: Session, shop: Shop, a: Analytics) -> None:
    _, program = current_program(session, shop)
    counts = dict(session.execute(select(Member.tier_key, func.count()).where(Member.shop_id == shop.id, _enrolled())
                                  .group_by(Member.tier_key)).all())
    if not program.tiers.enabled:
        a.tiers = []
        return
    known = {t.key for t in program.tiers.levels}
    a.tiers = [{"key": t.key, "name": t.name, "members": int(counts.get(t.key, 0))} for t in program.tiers.levels]
    untiered = sum(int(n) for key, n in counts.items() if key not in known)
    a.tiers.append({"key": None, "name": "No tier yet", "members": untiered})


def shop_analytics(session: Session, shop: Shop, *, now: datetime, months: int = 12) -> Analytics:
    starts = month_starts(now, months)
    a = Analytics(currency=shop.currency, start=starts[0], end=now, months=[month_key(s) for s in starts])
    _member_figures(session, shop, a, now)
    _point_figures(session, shop, a, now)
    _order_figures(session, shop, a)
    _retention(session, shop, a)
    _referrals(session, shop, a)
    _tiers(session, shop, a)
    for f in pooled_figures(session, shop, a.start, now):
        a.figures[f.key] = money_figure(shop, f.key, f.label, f.value, f.definition) if f.money else \
            Figure(f.key, f.label, f.value, f"{f.value:,}", f.definition)
    return a


def period_figures(session: Session, shop: Shop, *, start: datetime, end: datetime) -> Analytics:
    """Members, points and money figures for any period (e.g. the owner's weekly summary), with
    the same definitions as the analytics page."""
    a = Analytics(currency=shop.currency, start=start, end=end, months=[month_key(start)])
    _member_figures(session, shop, a, end)
    _point_figures(session, shop, a, end)
    _order_figures(session, shop, a)
    return a
