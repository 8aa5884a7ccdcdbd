"""Which Shopify store credit transactions are already some cashback payout's (so a redemption
reading its credit back never mistakes a cashback credit of the same amount for its own)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import CashbackPayout


def cashback_transactions(session: Session, shop_id: int, transaction_ids: list[str]) -> set[str]:
    if not transaction_ids:
        return set()
    return set(session.scalars(select(CashbackPayout.shopify_transaction_id).where(
        CashbackPayout.shop_id == shop_id, CashbackPayout.shopify_transaction_id.in_(transaction_ids))))
