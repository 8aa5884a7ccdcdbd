"""Endpoints other apps call (e.g. a reviews app awarding points for a product review).
Authenticated with the shop's integration token (`flask --app wsgi shops integration-token`)."""
from __future__ import annotations

from flask import Blueprint, Flask, request
from sqlalchemy import select

from app.errors import ApiError
from app.loyalty.errors import InvalidInput
from app.models import Shop
from app.runtime import tessera
from app.services.actions import claim_action
from app.services.integration_tokens import hash_token
from app.services.ledger import balance_of
from app.services.members import get_or_create_member

bp = Blueprint("integrations", __name__, url_prefix="/integrations")


def _shop_from_token(session) -> Shop:
    header = request.headers.get("Authorization", "")
    token = header[len("Bearer "):].strip() if header.startswith("Bearer ") else ""
    shop = session.scalar(select(Shop).where(Shop.integration_token_hash == hash_token(token))) if token else None
    if shop is None or not shop.is_installed:
        raise ApiError(401, "invalid_integration_token",
                       "Send the shop's integration token as 'Authorization: Bearer <token>' (Tessera admin > "
                       "Settings > Integrations, or `flask --app wsgi shops integration-token SHOP`).")
    return shop


def _review_input(body) -> tuple[int, str]:
    problems = {}
    customer_id = body.get("customer_id") if isinstance(body, dict) else None
    review_id = body.get("review_id") if isinstance(body, dict) else None
    if not isinstance(customer_id, int) or isinstance(customer_id, bool) or customer_id <= 0:
        problems["customer_id"] = "the Shopify customer id (a positive number) of the reviewer"
    if not isinstance(review_id, (str, int)) or not str(review_id).strip() or len(str(review_id)) > 64:
        problems["review_id"] = "your id of the review (1-64 characters), so one review never pays twice"
    if problems:
        raise InvalidInput("The review notification is not valid.", problems)
    return customer_id, str(review_id).strip()


@bp.post("/reviews")
def product_review():
    t = tessera()
    with t.db.scope() as session:
        shop = _shop_from_token(session)
        customer_id, review_id = _review_input(request.get_json(silent=True))
        now = t.clock()
        member = get_or_create_member(session, shop, customer_id, now=now)
        entry = claim_action(session, shop, member, "product_review", now=now, ref=review_id)
        return {"points": entry.points, "balance": balance_of(session, member, now).balance}, 201


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
