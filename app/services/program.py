"""The shop's current program version, its defaults, and changes to it."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.loyalty.program import Program, default_program, parse_program
from app.models import ProgramVersion, Reward, Shop


@lru_cache(maxsize=1024)
def _parsed(version_id: int, settings_key: str) -> Program:
    import json
    return parse_program(json.loads(settings_key))


def program_of(version: ProgramVersion) -> Program:
    """Versions are immutable, so a parsed program can be cached by version id."""
    import json
    return _parsed(version.id, json.dumps(version.settings, sort_keys=True))


def current_version(session: Session, shop: Shop) -> ProgramVersion:
    version = session.scalar(select(ProgramVersion).where(ProgramVersion.shop_id == shop.id)
                             .order_by(ProgramVersion.version.desc()).limit(1))
    if version is None:
        version = _add_version(session, shop, default_program(), created_by="system")
    return version


def current_program(session: Session, shop: Shop) -> tuple[ProgramVersion, Program]:
    version = current_version(session, shop)
    return version, program_of(version)


def _add_version(session: Session, shop: Shop, program: Program, created_by: str) -> ProgramVersion:
    latest = session.scalar(select(func.max(ProgramVersion.version)).where(ProgramVersion.shop_id == shop.id)) or 0
    version = ProgramVersion(shop_id=shop.id, version=latest + 1, settings=program.as_settings(),
                             created_by=created_by)
    session.add(version)
    session.flush()
    return version


def default_reward(shop: Shop) -> Reward:
    return Reward(shop_id=shop.id, name=f"{shop.currency} 5 off", kind="amount_off", points_cost=500,
                  value=Decimal("5"), code_expiry_days=90, combines_with_shipping=True, position=0)


def ensure_default_program(session: Session, shop: Shop) -> None:
    """A new shop gets a working program: 1 point per unit spent, 100 for signing up,
    no expiry, and 500 points -> 5 off. Reinstalls keep whatever the owner had."""
    current_version(session, shop)
    has_rewards = session.scalar(select(func.count()).select_from(Reward).where(Reward.shop_id == shop.id))
    if not has_rewards:
        session.add(default_reward(shop))
    session.flush()


def update_program(session: Session, shop: Shop, settings: dict, *, staff_user_id: str, now: datetime) -> ProgramVersion:
    program = parse_program(settings)
    version = _add_version(session, shop, program, created_by=staff_user_id)
    session.commit()
    return version
