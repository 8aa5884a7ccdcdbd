"""Requests the way the admin's pages make them: the session token on every request, the
page's CSRF token on every form post."""
from __future__ import annotations

import re

from tests.support import SHOP, session_token

HOST = "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvbWFwbGUtcGluZS1nb29kcw"
# One App Bridge session (the `sid` claim) for a test: CSRF tokens are tied to it.
SID = "a3f1c2d4e5b6978812ab34cd56ef7890"


def token(shop: str = SHOP, sid: str = SID, **claims) -> str:
    return session_token(shop=shop, sid=sid, **claims)


def get_page(client, path: str, *, shop: str = SHOP, sid: str = SID, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return client.get(f"{path}?shop={shop}&host={HOST}&embedded=1&id_token={token(shop, sid)}"
                      + (f"&{query}" if query else ""))


def csrf_from(html: str) -> str:
    return re.search(r'data-csrf="([^"]+)"', html).group(1)


def csrf_token(client, *, shop: str = SHOP, sid: str = SID) -> str:
    return csrf_from(get_page(client, "/", shop=shop, sid=sid).get_data(as_text=True))


def post_form(client, path: str, data: dict | None = None, *, shop: str = SHOP, sid: str = SID,
              csrf: str | None = None, **kwargs):
    """A form post as admin.js sends it; `csrf=""` leaves the token out."""
    form = dict(data or {})
    if csrf is None:
        csrf = csrf_token(client, shop=shop, sid=sid)
    if csrf:
        form["csrf_token"] = csrf
    return client.post(path, data=form, headers={"Authorization": f"Bearer {token(shop, sid)}"}, **kwargs)


def bearer(shop: str = SHOP, **claims) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(shop, **claims)}"}
