"""Orders and refunds from webhooks and reconciliation."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.services.inbox import HandlerContext


def handle_order_webhook(ctx: "HandlerContext") -> None:
    pass


def handle_refund_webhook(ctx: "HandlerContext") -> None:
    pass
