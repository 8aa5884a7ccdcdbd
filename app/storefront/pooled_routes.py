"""App Proxy endpoints of the households (the member's part of GET /proxy/member is added by
app/queries/pooled_state.py). Paths are contracts."""
from __future__ import annotations

from app.runtime import tessera
from app.services import households
from app.storefront.language import shopper_locale
from app.storefront.proxy import bp, json_object_body, load_shop, private_json, verified_proxy_request
from app.storefront.routes import _require_member


def _accept_url(shop_domain: str, token: str) -> str:
    # The widget on any storefront page accepts an invitation carried in this query parameter.
    return f"https://{shop_domain}/?tessera_household={token}"


@bp.post("/household/invite")
def household_invite():
    proxy = verified_proxy_request()
    customer_id = _require_member(proxy)
    body = json_object_body()
    t = tessera()
    with t.db.scope() as session:
        shop = load_shop(session, proxy)
        new = households.invite(session, shop, customer_id, body.get("email"), now=t.clock())
        invitation = new.invitation
        answer = {"invitation": {"id": invitation.id, "email": invitation.email, "token": new.token,
                                 "accept_url": _accept_url(shop.domain, new.token),
                                 "expires_at": invitation.expires_at.isoformat()}}
    return private_json(answer, 201)


@bp.post("/household/accept")
def household_accept():
    proxy = verified_proxy_request()
    customer_id = _require_member(proxy)
    token = json_object_body().get("token")
    t = tessera()
    with t.db.scope() as session:
        shop = load_shop(session, proxy)
        households.accept(session, shop, customer_id, token, now=t.clock())
        return private_json({"joined": True, "household": _household(session, shop, customer_id, t.clock())})


@bp.post("/household/leave")
def household_leave():
    proxy = verified_proxy_request()
    customer_id = _require_member(proxy)
    t = tessera()
    with t.db.scope() as session:
        households.leave(session, load_shop(session, proxy), customer_id, now=t.clock())
    return private_json({"left": True, "household": None})


def _household(session, shop, customer_id: int, now):
    from app.queries.pooled_state import household_json
    from app.services.members import find_member
    return household_json(session, shop, find_member(session, shop, customer_id), now, shopper_locale())
