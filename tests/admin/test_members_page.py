"""Members: search, filter and sort; a member's page; adjustments with a required reason (the
staff user id on the entry); blocking. The page's actions post to /api/v1 as admin.js sends a
`data-api` form (JSON, session token): one implementation for the page and API clients. Another
shop's member is a 404 everywhere."""
import re

from sqlalchemy import select

from app.models import LedgerEntry, Member
from tests.admin.helpers import bearer, get_page
from tests.admin.seed import A, B, C, D
from tests.support import OTHER_SHOP
from tests.support.ledger import adjust, balance, entries


def rows(html: str) -> list[str]:
    import re
    return re.findall(r'href="/members/(\d+)\?', html)


def test_members_are_searched_by_email_or_name(client, seeded):
    assert rows(get_page(client, "/members", query="avery@").get_data(as_text=True)) == [str(A)]
    assert rows(get_page(client, "/members", query="rivera").get_data(as_text=True)) == [str(B)]
    assert rows(get_page(client, "/members", query="Casey%20Stone").get_data(as_text=True)) == [str(C)]
    html = get_page(client, "/members", query="nobody").get_data(as_text=True)
    assert rows(html) == [] and "No members match" in html


def test_members_are_filtered_by_tier_and_segment_and_sorted(client, seeded):
    assert rows(get_page(client, "/members", tier="silver").get_data(as_text=True)) == [str(B)]
    assert rows(get_page(client, "/members", tier="none").get_data(as_text=True)) == [str(C)]
    by_balance = rows(get_page(client, "/members", sort="-balance").get_data(as_text=True))
    assert by_balance == [str(D), str(A), str(C), str(B)]  # 1100, 265, 100, 50
    assert rows(get_page(client, "/members", sort="balance").get_data(as_text=True)) == by_balance[::-1]
    assert rows(get_page(client, "/members", sort="name").get_data(as_text=True)) == [str(A), str(B), str(C), str(D)]


def test_members_list_pages(client, seeded):
    html = get_page(client, "/members", per_page=2, sort="name").get_data(as_text=True)
    assert rows(html) == [str(A), str(B)] and "page=2" in html
    assert rows(get_page(client, "/members", per_page=2, sort="name", page=2).get_data(as_text=True)) == [str(C), str(D)]


def test_member_page_shows_balance_tier_referrals_codes_and_the_explained_ledger(client, seeded):
    html = get_page(client, f"/members/{B}").get_data(as_text=True)
    assert "Blake Rivera" in html and "Silver" in html
    assert "Order #9002: " in html and "Redeemed USD 5 off" in html
    assert 'data-balance>50<' in html
    assert "Adjust points" in html and 'name="reason"' in html
    html = get_page(client, f"/members/{A}").get_data(as_text=True)
    assert "Adjusted by staff: Apology for a late parcel" in html and "by staff 84512345678" in html
    assert "Refund on order #9007" in html
    assert "4 visits, 2 sign-ups, 1 blocked" in html  # referral stats


def test_member_page_lists_reward_codes_with_their_state(client, seeded, t):
    html = get_page(client, f"/members/{B}").get_data(as_text=True)
    with t.db.scope(read_only=True) as session:
        from app.models import Redemption
        code = session.scalar(select(Redemption.code).where(Redemption.shop_id == seeded.id))
    section = html[html.index("data-redemptions"):]
    assert code and code in section and "Issued" in section and "500 points" in section


def page_action(client, customer_id: int, action: str, *, shop_domain: str | None = None) -> str:
    """The URL a member page's form posts to, as rendered (so a page pointing elsewhere fails here)."""
    html = get_page(client, f"/members/{customer_id}", **({"shop": shop_domain} if shop_domain else {})
                    ).get_data(as_text=True)
    [url] = re.findall(rf'action="(/api/v1/members/{customer_id}/{action})" data-api', html)
    return url


def submit(client, url: str, body: dict, *, shop_domain: str | None = None):
    """What admin.js sends for a data-api form: JSON with the page's session token."""
    headers = bearer(shop_domain) if shop_domain else bearer()
    return client.post(url, json=body, headers=headers)


class TestAdjustments:
    def test_an_adjustment_is_recorded_with_the_reason_and_the_staff_user(self, client, t, shop):
        adjust(t, shop, 100, customer_id=A)
        response = submit(client, page_action(client, A, "adjustments"), {"points": -40, "reason": "Damaged item swap"})
        assert response.status_code == 201, response.json
        entry = entries(t, shop, A)[-1]
        assert (entry.points, entry.kind, entry.staff_user_id) == (-40, "adjust", "84512345678")
        assert entry.reason == "Adjusted by staff: Damaged item swap"
        assert balance(t, shop, A).balance == 60

    def test_a_reason_is_required(self, client, t, shop):
        adjust(t, shop, 100, customer_id=A)
        response = submit(client, page_action(client, A, "adjustments"), {"points": 25, "reason": "  "})
        assert response.status_code == 422
        assert [f["field"] for f in response.json["error"]["fields"]] == ["reason"]

    def test_points_must_be_a_whole_number(self, client, t, shop):
        adjust(t, shop, 100, customer_id=A)
        response = submit(client, page_action(client, A, "adjustments"), {"points": "1.5", "reason": "x"})
        assert response.status_code == 422 and response.json["error"]["fields"][0]["field"] == "points"

    def test_a_balance_never_goes_below_zero(self, client, t, shop):
        adjust(t, shop, 30, customer_id=A)
        response = submit(client, page_action(client, A, "adjustments"), {"points": -31, "reason": "too much"})
        assert response.status_code == 409 and "Only 30 points" in response.json["error"]["message"]

    def test_the_same_form_submitted_twice_adjusts_once(self, client, t, shop):
        adjust(t, shop, 100, customer_id=A)
        html = get_page(client, f"/members/{A}").get_data(as_text=True)
        key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', html).group(1)
        body = {"points": 5, "reason": "Goodwill", "idempotency_key": key}
        assert submit(client, page_action(client, A, "adjustments"), body).status_code == 201
        assert submit(client, page_action(client, A, "adjustments"), body).status_code == 201
        assert balance(t, shop, A).balance == 105

    def test_another_shops_member_cannot_be_adjusted(self, client, t, shop, other_shop):
        adjust(t, other_shop, 100, customer_id=A)
        response = submit(client, f"/api/v1/members/{A}/adjustments", {"points": 5, "reason": "x"})
        assert response.status_code == 404
        with t.db.scope(read_only=True) as session:
            assert session.scalar(select(LedgerEntry.id).where(LedgerEntry.shop_id == shop.id)) is None

    def test_an_adjustment_without_the_session_token_is_refused(self, client, t, shop):
        adjust(t, shop, 100, customer_id=A)
        response = client.post(page_action(client, A, "adjustments"), json={"points": 5, "reason": "x"})
        assert response.status_code == 401 and balance(t, shop, A).balance == 100


def test_the_admin_keeps_no_second_implementation_of_the_member_actions(client, t, shop):
    adjust(t, shop, 100, customer_id=A)
    for action in ("adjustments", "block", "unblock"):
        response = client.post(f"/members/{A}/{action}", data={"points": "5", "reason": "x"},
                               headers={"Authorization": bearer()["Authorization"]})
        assert response.status_code in (404, 405), action
    assert balance(t, shop, A).balance == 100


def test_a_member_is_blocked_and_unblocked(client, t, shop):
    adjust(t, shop, 10, customer_id=A)
    assert submit(client, page_action(client, A, "block"), {"reason": "Referral abuse"}).status_code == 200
    with t.db.scope(read_only=True) as session:
        member = session.scalar(select(Member).where(Member.shop_id == shop.id, Member.customer_id == A))
    assert member.blocked_at is not None and member.block_reason == "Referral abuse (staff 84512345678)"
    assert "Blocked from the program" in get_page(client, f"/members/{A}").get_data(as_text=True)
    assert rows(get_page(client, "/members", segment="blocked").get_data(as_text=True)) == [str(A)]
    assert submit(client, page_action(client, A, "unblock"), {}).status_code == 200
    with t.db.scope(read_only=True) as session:
        assert session.get(Member, member.id).blocked_at is None


def test_blocking_another_shops_member_is_404(client, t, shop, other_shop):
    adjust(t, other_shop, 10, customer_id=A)
    assert submit(client, f"/api/v1/members/{A}/block", {"reason": "x"}).status_code == 404
    assert submit(client, f"/api/v1/members/{A}/block", {"reason": "x"}, shop_domain=OTHER_SHOP).status_code == 200
