"""Analytics: the program's figures with their definitions, and server-rendered SVG charts."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask import request
from markupsafe import Markup

from app.admin.access import render_page, shop_session
from app.admin.blueprint import bp
from app.admin.charts import Series, bar_chart, hbar_chart, line_chart
from app.loyalty.money import format_money
from app.parsing import query_number
from app.queries.analytics import Analytics, percent, shop_analytics
from app.runtime import tessera

PERIODS = (3, 6, 12, 24)


@dataclass(frozen=True)
class Chart:
    svg: Markup
    legend: list[str]
    rows: list[list]  # the figures drawn, for the "View data" table


def period_months(args) -> int:
    """`?months=`: one of the page's periods; another number shows the default, a non-number is a 400."""
    months = query_number(args, "months", default=12, minimum=1, maximum=120, clamp=True)
    return months if months in PERIODS else 12


def month_label(key: str, *, with_year: bool = True) -> str:
    return datetime.strptime(key, "%Y-%m").strftime("%b %Y" if with_year else "%b")


def axis_labels(months: list[str]) -> list[str]:
    """"Mar 2024", "Apr", ... "Jan 2025": the year where it starts and where it changes."""
    return [month_label(m, with_year=i == 0 or m.endswith("-01")) for i, m in enumerate(months)]


def _count(value) -> str:
    return f"{int(value):,}"


def _share(value) -> str:
    return percent(Decimal(str(value)))


def _float(value) -> float | None:
    return None if value is None else float(value)


def monthly_charts(a: Analytics) -> dict[str, Chart]:
    labels, months = axis_labels(a.months), [month_label(m) for m in a.months]
    money = lambda minor: format_money(int(minor), a.currency).removesuffix(".00")  # noqa: E731
    joined = [a.series["new_members"][m]["members"] for m in a.months]
    points = [a.series["points"][m] for m in a.months]
    revenue = [a.series["revenue"][m] for m in a.months]
    kept = [a.series["retention"][m] for m in a.months]
    return {
        "members": Chart(bar_chart(labels, [Series("New members", joined)], title="New members per month",
                                   fmt=_count, integer=True), ["New members"],
                         [[m, n] for m, n in zip(months, joined)]),
        "points": Chart(bar_chart(labels, [Series(name.title(), [p[name] for p in points])
                                           for name in ("issued", "redeemed", "expired")],
                                  title="Points issued, redeemed and expired per month", fmt=_count, integer=True),
                        ["Issued", "Redeemed", "Expired"],
                        [[m, _count(p["issued"]), _count(p["redeemed"]), _count(p["expired"])]
                         for m, p in zip(months, points)]),
        "revenue": Chart(bar_chart(labels, [Series("Members", [r["members"] for r in revenue]),
                                            Series("Non-members", [r["non_members"] for r in revenue])],
                                   title="Net revenue per month, members and non-members", fmt=money, stacked=True),
                         ["Members", "Non-members"],
                         [[m, money(r["members"]), money(r["non_members"])] for m, r in zip(months, revenue)]),
        "retention": Chart(line_chart(labels, [Series("Retention", [_float(r["retention"]) for r in kept]),
                                               Series("Churn", [_float(r["churn"]) for r in kept])],
                                      title="Monthly retention and churn of members", fmt=_share, maximum=1),
                           ["Retention", "Churn"],
                           [[m, percent(r["retention"]), percent(r["churn"]), r["cohort"]] for m, r in zip(months, kept)]),
    }


def comparison_charts(a: Analytics) -> dict[str, Chart | None]:
    repeat = [("Members", a.figures["repeat_rate_members"]), ("Non-members", a.figures["repeat_rate_non_members"])]
    return {
        "repeat": Chart(hbar_chart([(name, _float(f.value) or 0) for name, f in repeat], title="Repeat purchase rate",
                                   fmt=_share), [], [[name, f.display] for name, f in repeat]),
        "funnel": Chart(hbar_chart([(s["label"], s["count"]) for s in a.funnel], title="Referral funnel", fmt=_count),
                        [], [[s["label"], s["count"]] for s in a.funnel]),
        "tiers": Chart(hbar_chart([(t["name"], t["members"]) for t in a.tiers], title="Members per tier", fmt=_count),
                       [], [[t["name"], t["members"]] for t in a.tiers]) if a.tiers else None,
    }


@bp.get("/analytics")
def analytics():
    months = period_months(request.args)
    with shop_session(read_only=True) as (session, shop):
        a = shop_analytics(session, shop, now=tessera().clock(), months=months)
        return render_page("admin/analytics.html", shop, a=a, charts={**monthly_charts(a), **comparison_charts(a)},
                           months=months, periods=PERIODS, first_month=month_label(a.months[0]),
                           last_month=month_label(a.months[-1]))
