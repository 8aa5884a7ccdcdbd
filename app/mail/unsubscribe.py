"""The one-click unsubscribe every member email links to (List-Unsubscribe, RFC 8058).

No login: the signed token in the URL names the shop and the member. A mailbox provider POSTs
`List-Unsubscribe=One-Click` to the URL and the member is unsubscribed; a person opening the
link (GET) gets a page in their language with a button that makes the same POST, so a link
scanner that merely follows links never unsubscribes anyone."""
from __future__ import annotations

from flask import Blueprint, current_app, make_response, render_template

from app.mail.envelope import read_unsubscribe_token
from app.mail.render import localized_branding, texts
from app.models import Member, Shop
from app.queries.member_emails import shop_branding
from app.runtime import tessera
from app.services.member_emails import email_language, unsubscribe_member
from app.services.program import current_program

bp = Blueprint("mail", __name__, url_prefix="/mail", template_folder="templates")


def _member_of(session, token: str) -> tuple[Shop, Member] | None:
    ids = read_unsubscribe_token(current_app.config["SECRET_KEY"], token)
    if ids is None:
        return None
    shop = session.get(Shop, ids[0])
    member = session.get(Member, ids[1])
    if shop is None or member is None or member.shop_id != shop.id:
        return None
    return shop, member


def _page(session, shop: Shop | None, member: Member | None, *, done: bool, status: int = 200):
    locale = email_language(member) if member else "en"
    words = texts(locale)
    brand = None
    if shop is not None:
        brand = localized_branding(shop_branding(shop, current_program(session, shop)[1]), locale)
    html = render_template("mail/unsubscribe.html", words=words, brand=brand, done=done, locale=locale,
                           known=shop is not None)
    response = make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/unsubscribe/<token>")
def confirm_unsubscribe(token: str):
    with tessera().db.scope(read_only=True) as session:
        found = _member_of(session, token)
        if found is None:
            return _page(session, None, None, done=False, status=404)
        return _page(session, *found, done=found[1].email_unsubscribed_at is not None)


@bp.post("/unsubscribe/<token>")
def one_click_unsubscribe(token: str):
    t = tessera()
    with t.db.scope() as session:
        found = _member_of(session, token)
        if found is None:
            return _page(session, None, None, done=False, status=404)
        shop, member = found
        unsubscribe_member(session, shop.id, member.id, now=t.clock())
        return _page(session, shop, member, done=True)
