"""App Proxy endpoints (paths are contracts used by the widget and other tests)."""
from __future__ import annotations

from app.runtime import tessera
from app.services.member_state import member_state
from app.storefront import bp, load_shop, private_json, verified_proxy_request


@bp.get("/member")
def member():
    proxy = verified_proxy_request()
    if proxy.customer_id is None:
        return private_json({"guest": True, "balance": 0, "pending": 0, "lifetime_earned": 0, "tier": None})
    t = tessera()
    with t.db.scope(read_only=True) as session:
        state = member_state(session, load_shop(session, proxy), proxy.customer_id, now=t.clock())
    return private_json({"guest": False, **state})
