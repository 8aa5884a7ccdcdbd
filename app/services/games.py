"""What follows a counted event for badges and challenges, within that event's transaction: an
order batch settled (its members, and the referrers whose referral an order completed), an
action earned, a birthday saved. One call from each place, so those use cases stay unaware of
the games' rules."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.loyalty.program import Program
from app.models import Member, Order, Referral, Shop
from app.services.badges import award_badges_for
from app.services.challenges import complete_challenges_for
from app.services.program import current_program
from app.services.set_sql import among


def games_on(program: Program) -> bool:
    return program.badges.enabled or bool(program.challenges.running())


def follow_order_batch(session: Session, shop: Shop, orders: Iterable[Order], members: dict[int, Member],
                       program: Program, *, version_id: int | None, now: datetime) -> None:
    """After a batch's entries: its members' badges and challenges, and those of the referrers
    whose referral one of these orders completed."""
    if not games_on(program):
        return
    orders = list(orders)
    touched = {o.member_id for o in orders if o.member_id in members}
    referrers = set(session.scalars(select(Referral.referrer_member_id).where(
        Referral.shop_id == shop.id, Referral.status == "completed",
        among(session, Referral.order_id, [o.order_id for o in orders])))) if orders else set()
    followed = [members[m] for m in sorted(touched)] + [session.get(Member, m) for m in sorted(referrers - touched)]
    followed = [m for m in followed if m is not None and m.shop_id == shop.id]
    award_badges_for(session, shop, followed, program, version_id=version_id, now=now)
    complete_challenges_for(session, shop, followed, program, version_id=version_id, now=now)


def follow_member(session: Session, shop: Shop, member: Member, *, now: datetime,
                  program: tuple[int, Program] | None = None) -> None:
    """After an action earned or a profile fact changed (e.g. the birthday saved)."""
    if program is None:
        version, rules = current_program(session, shop)
        program = (version.id, rules)
    version_id, rules = program
    if games_on(rules):
        award_badges_for(session, shop, [member], rules, version_id=version_id, now=now)
        complete_challenges_for(session, shop, [member], rules, version_id=version_id, now=now)
