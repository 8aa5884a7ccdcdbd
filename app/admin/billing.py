"""The owner's plan (hosted app, BILLING=on): the page, choosing a plan, and the way back from
Shopify's confirmation page. With BILLING=off none of it exists (404)."""
from __future__ import annotations

from flask import Blueprint, abort, jsonify, redirect, request
from flask_login import current_user

from app.admin.access import page_url, render_page, shop_session
from app.admin.blueprint import bp
from app.errors import ApiError
from app.models import Shop
from app.plans import PLANS, UnknownPlan
from app.runtime import tessera
from app.services import billing
from app.shopify.admin_access import ShopNeedsReauth
from app.shopify.domains import InvalidShopDomain, normalize_shop_domain
from app.shopify.graphql import ShopifyUserErrors

# Shopify sends the owner back here at the top level (outside the admin iframe, without a
# session token); what happened is read from Shopify, not from the URL.
shopify_return = Blueprint("billing_return", __name__)


def _billing_on() -> None:
    if not tessera().config.get("BILLING"):
        abort(404)


@bp.get("/billing")
def billing_page():
    _billing_on()
    t = tessera()
    with shop_session(read_only=True) as (session, shop):
        standing = billing.billing_standing(session, shop, now=t.clock())
        active = billing.active_subscription(session, shop)
        return render_page("admin/billing.html", shop, standing=standing, plans=PLANS, subscription=active,
                           test_charges=bool(t.config.get("BILLING_TEST")))


@bp.post("/billing/plan")
def choose_plan():
    _billing_on()
    t = tessera()
    plan_key = request.form.get("plan", "")
    with shop_session() as (session, shop):
        return_url = f"{t.app_url}/billing/return?shop={shop.domain}"
        try:
            confirmation = billing.choose_plan(t.shopify, session, shop, plan_key, return_url=return_url,
                                               test=bool(t.config.get("BILLING_TEST")), now=t.clock())
        except UnknownPlan as exc:
            raise ApiError(422, "unknown_plan", str(exc), {"plan": str(exc)}) from None
        except ShopifyUserErrors as exc:
            raise ApiError(422, "charge_refused", f"Shopify refused the charge: {exc}") from None
    if confirmation:
        return jsonify({"message": "Opening Shopify to approve the charge…", "top_redirect": confirmation})
    return jsonify({"message": "You are on the free plan." if plan_key == "free" else "Plan unchanged.",
                    "redirect": page_url("admin.billing_page")})


@shopify_return.get("/billing/return")
def back_from_shopify():
    """Record what the owner decided, then go back into the embedded admin's plan page."""
    t = tessera()
    _billing_on()
    try:
        domain = normalize_shop_domain(request.args.get("shop"))
    except InvalidShopDomain as exc:
        raise ApiError(400, "invalid_shop_domain", str(exc)) from None
    with t.db.scope() as session:
        shop = session.query(Shop).filter_by(domain=domain).one_or_none()
        if shop is None or shop.uninstalled_at is not None:
            raise ApiError(404, "shop_not_installed", f"Tessera is not installed on {domain}.")
        try:
            billing.confirm_return(t.shopify, session, shop, request.args.get("charge_id", ""), now=t.clock())
        except billing.BillingRefused as exc:
            raise ApiError(400, "unknown_charge", str(exc)) from None
        except ShopNeedsReauth as exc:
            raise ApiError(409, "reauth_required", str(exc)) from None
    return redirect(t.endpoints.shop_url(domain, f"/admin/apps/{t.api_key}/billing"))


@bp.before_request
def _plan_covers_the_shop():
    """Over the plan's monthly orders, the admin asks for the next plan before anything else
    (runs after the blueprint's authentication). The program itself keeps running."""
    t = tessera()
    if not t.config.get("BILLING") or request.endpoint in ("admin.billing_page", "admin.choose_plan"):
        return None
    if not current_user.is_authenticated:
        return None
    with shop_session(read_only=True) as (session, shop):
        standing = billing.billing_standing(session, shop, now=t.clock())
    if not standing.over_allowance:
        return None
    if request.method in ("GET", "HEAD"):
        return redirect(page_url("admin.billing_page"))
    raise ApiError(402, "plan_upgrade_required",
                   f"{standing.orders_this_month} paid orders this month is more than the {standing.plan.name} "
                   f"plan includes; choose the {standing.suggested_plan.name} plan on the Plan page first.")
