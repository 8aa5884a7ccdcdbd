"""The shop's current program version, its defaults, and changes to it."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.loyalty.program import Program, default_program, parse_program
from app.db import transaction_cache
from app.models import ProgramVersion, Reward, Shop

if TYPE_CHECKING:
    from app.shopify.admin_access import AdminAccess
    from app.jobs.queues import Queue


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
    """The version in force, read once per transaction (processing one order asks many times)."""
    cache = transaction_cache(session)
    if ("program", shop.id) not in cache:
        version = current_version(session, shop)
        cache[("program", shop.id)] = (version, program_of(version))
    return cache[("program", shop.id)]


def _add_version(session: Session, shop: Shop, program: Program, created_by: str) -> ProgramVersion:
    latest = session.scalar(select(func.max(ProgramVersion.version)).where(ProgramVersion.shop_id == shop.id)) or 0
    version = ProgramVersion(shop_id=shop.id, version=latest + 1, settings=program.as_settings(),
                             created_by=created_by)
    session.add(version)
    session.flush()
    transaction_cache(session).pop(("program", shop.id), None)
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


def update_program(session: Session, shop: Shop, settings: dict, *, staff_user_id: str, now: datetime,
                   queue: "Queue | None" = None) -> ProgramVersion:
    """Save a new version. Campaigns limited to collections get their products from Shopify
    in a follow-up job (they match no product until then, never every product)."""
    program = parse_program(settings)
    from app.services.challenge_checks import check_challenge_rewards, check_win_back_reward  # this shop's catalog
    check_challenge_rewards(session, shop, program)
    check_win_back_reward(session, shop, program)
    _require_campaign_segments(session, shop, program)
    version = _add_version(session, shop, program, created_by=staff_user_id)
    session.commit()
    if queue is not None and any(c.needs_collection_products for c in program.campaigns):
        queue.enqueue("resolve_campaign_collections", shop.id)
    return version


def resolve_campaign_collections(admin: "AdminAccess", session: Session, shop: Shop) -> ProgramVersion | None:
    """Fill in the products of collection-limited campaigns as a new program version."""
    version, program = current_program(session, shop)
    pending = [c for c in program.campaigns if c.needs_collection_products]
    if not pending:
        return None
    resolved = []
    for campaign in program.campaigns:
        if campaign.needs_collection_products:
            products = sorted({p for cid in campaign.collection_ids for p in _collection_products(admin, session, shop, cid)})
            campaign = campaign.model_copy(update={"collection_product_ids": products})
        resolved.append(campaign)
    new_version = _add_version(session, shop, program.model_copy(update={"campaigns": resolved}),
                               created_by="system: collection products")
    session.commit()
    return new_version


def _collection_products(shopify: "AdminAccess", session: Session, shop: Shop, collection_id: int) -> list[int]:
    from app.shopify.admin_access import call_admin
    from app.shopify.documents import COLLECTION_PRODUCTS

    products, after = [], None
    while True:
        data = call_admin(shopify, session, shop, COLLECTION_PRODUCTS,
                          {"id": f"gid://shopify/Collection/{collection_id}", "after": after})["collection"]
        if data is None:
            return products  # a deleted collection holds no products
        products += [int(n["legacyResourceId"]) for n in data["products"]["nodes"]]
        if not data["products"]["pageInfo"]["hasNextPage"]:
            return products
        after = data["products"]["pageInfo"]["endCursor"]


def _require_campaign_segments(session: Session, shop: Shop, program: Program) -> None:
    from app.queries.segments import require_segment_ids
    for index, campaign in enumerate(program.campaigns):
        require_segment_ids(session, shop, campaign.segment_ids, f"campaigns.{index}.segment_ids")
    for kind, message in program.mail.messages.items():
        require_segment_ids(session, shop, message.segment_ids, f"mail.messages.{kind}.segment_ids")
