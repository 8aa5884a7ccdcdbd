"""One member's lifecycle stage and RFM as last computed (member pages and the API; read-only)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.loyalty.lifecycle import LifecycleSettings, lifecycle_stage
from app.models import Member, MemberMetrics

ENROLLED_STATE = "enabled"


def member_segment_facts(session: Session, member: Member, *, now: datetime,
                         settings: LifecycleSettings) -> dict[str, Any]:
    """`lifecycle_stage` and `rfm` {recency, frequency, monetary, segment} as last computed; a
    member not computed yet gets the stage their account gives and no scores."""
    row = session.get(MemberMetrics, member.id)
    if row is None or row.shop_id != member.shop_id:
        stage = lifecycle_stage(paid_orders=0, last_paid_order_at=None, now=now, settings=settings,
                                engaged=member.account_state == ENROLLED_STATE)
        return {"lifecycle_stage": stage, "rfm": {"recency": None, "frequency": None, "monetary": None,
                                                  "segment": None}}
    return {"lifecycle_stage": row.lifecycle_stage,
            "rfm": {"recency": row.rfm_recency, "frequency": row.rfm_frequency, "monetary": row.rfm_monetary,
                    "segment": row.rfm_segment}}
