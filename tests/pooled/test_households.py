"""Households over the App Proxy: invitations, joining, leaving, and spending one pooled balance
while each member's earning stays theirs."""
import threading
import uuid

import pytest
from sqlalchemy import func, select

from app.models import HouseholdInvitation, LedgerEntry, Member, Redemption, Reward, Shop
from tests.support import CUSTOMER_ID, OTHER_SHOP, signed_proxy_query
from tests.support.ledger import adjust, balance, set_program

pytestmark = pytest.mark.both_backends
ALICE, BOB, CARA = CUSTOMER_ID, 7412583020572, 7412583020573


@pytest.fixture
def households_on(t, shop):
    set_program(t, shop, {"households": {"enabled": True, "max_members": 3}})
    for customer_id, first, last, points in ((ALICE, "Alice", "Martin", 300), (BOB, "Bob", "Nguyen", 400),
                                             (CARA, "Cara", "Ortiz", 1)):
        adjust(t, shop, points, customer_id)
        with t.db.scope() as session:
            member = session.scalar(select(Member).where(Member.shop_id == shop.id, Member.customer_id == customer_id))
            member.first_name, member.last_name, member.email = first, last, f"{first.lower()}@example.com"
            session.commit()


def post(client, path, body, customer_id=ALICE, **signing):
    return client.post(f"/proxy/household/{path}?{signed_proxy_query(customer_id=customer_id, **signing)}", json=body)


def invite_and_join(client, inviter=ALICE, invitee=BOB):
    invited = post(client, "invite", {"email": "someone@example.com"}, customer_id=inviter)
    assert invited.status_code == 201, invited.json
    joined = post(client, "accept", {"token": invited.json["invitation"]["token"]}, customer_id=invitee)
    assert joined.status_code == 200, joined.json
    return joined.json


def member_json(client, customer_id=ALICE):
    return client.get(f"/proxy/member?{signed_proxy_query(customer_id=customer_id)}").json


def test_an_invitation_is_201_with_a_token_and_accept_url_for_the_inviter_only(client, t, shop, households_on):
    response = post(client, "invite", {"email": "Bob@Example.com"})
    assert response.status_code == 201
    invitation = response.json["invitation"]
    assert invitation["email"] == "bob@example.com" and len(invitation["token"]) >= 24
    assert invitation["accept_url"].endswith(invitation["token"]) and invitation["expires_at"]
    with t.db.scope(read_only=True) as session:
        stored = session.scalar(select(HouseholdInvitation))
        assert stored.email == "bob@example.com" and stored.token_sha256 != invitation["token"]  # a digest only


def test_accepting_joins_and_the_member_sees_the_household_by_display_names(client, t, shop, households_on):
    joined = invite_and_join(client)
    assert joined["household"] == {"members": ["Alice M.", "Bob N."], "balance": 700, "max_members": 3}
    state = member_json(client, BOB)  # Bob's first visit earns his signup points: the pool shows them
    assert state["household"]["members"] == ["Alice M.", "Bob N."]
    assert state["household"]["balance"] == balance(t, shop, ALICE).balance + balance(t, shop, BOB).balance == 800
    assert "alice@example.com" not in str(state)


def test_bad_tokens_are_404_used_409_expired_410(client, t, shop, households_on, clock):
    assert post(client, "accept", {"token": "not-a-token"}, customer_id=BOB).status_code == 404
    invited = post(client, "invite", {"email": "b@example.com"}).json["invitation"]
    assert post(client, "accept", {"token": invited["token"]}, customer_id=BOB).status_code == 200
    used = post(client, "accept", {"token": invited["token"]}, customer_id=CARA)
    assert used.status_code == 409 and "already been used" in used.json["error"]["message"]
    late = post(client, "invite", {"email": "c@example.com"}).json["invitation"]
    clock.advance(days=15)
    expired = post(client, "accept", {"token": late["token"]}, customer_id=CARA)
    assert expired.status_code == 410 and "expired" in expired.json["error"]["message"]


def test_another_shops_token_is_not_found_here(client, t, shop, other_shop, households_on):
    set_program(t, other_shop, {"households": {"enabled": True}})
    invited = post(client, "invite", {"email": "b@example.com"}, shop=OTHER_SHOP).json["invitation"]
    response = post(client, "accept", {"token": invited["token"]}, customer_id=BOB)
    assert response.status_code == 404


def test_the_owner_set_maximum_size_is_enforced(client, t, shop, households_on):
    invite_and_join(client, ALICE, BOB)
    invite_and_join(client, ALICE, CARA)
    full = post(client, "invite", {"email": "d@example.com"})
    assert full.status_code == 409 and "(3)" in full.json["error"]["message"]


def test_guests_are_refused_and_a_shop_without_households_is_404(client, t, shop):
    assert post(client, "invite", {"email": "b@example.com"}, customer_id=None).status_code == 401
    assert post(client, "invite", {"email": "b@example.com"}).status_code == 404
    assert post(client, "leave", {}, customer_id=None).status_code == 401


def test_a_bad_email_is_422(client, t, shop, households_on):
    response = post(client, "invite", {"email": "not an email"})
    assert response.status_code == 422 and response.json["error"]["fields"][0]["field"] == "email"


def five_off(t, shop):
    with t.db.scope(read_only=True) as session:
        return session.scalar(select(Reward).where(Reward.shop_id == shop.id)).id


def redeem(client, reward_id, customer_id):
    body = {"reward_id": reward_id, "idempotency_key": uuid.uuid4().hex}
    return client.post(f"/proxy/redeem?{signed_proxy_query(customer_id=customer_id)}", json=body)


def test_a_redemption_spends_the_redeemers_points_first_then_the_others(client, t, shop, stub, households_on):
    invite_and_join(client, ALICE, BOB)
    response = redeem(client, five_off(t, shop), ALICE)  # 500 points: Alice has 300, Bob 400
    assert response.status_code == 200, response.json
    assert balance(t, shop, ALICE).balance == 0 and balance(t, shop, BOB).balance == 200
    with t.db.scope(read_only=True) as session:
        redemption = session.scalar(select(Redemption))
        debits = session.execute(select(LedgerEntry.member_id, LedgerEntry.points, LedgerEntry.cause_id).where(
            LedgerEntry.kind == "redeem").order_by(LedgerEntry.id)).all()
    assert [(p, c) for _, p, c in debits] == [(-300, str(redemption.id)), (-200, str(redemption.id))]


def test_the_pool_short_is_409_and_spends_nothing(client, t, shop, stub, households_on):
    invite_and_join(client, ALICE, CARA)  # 300 + 1
    response = redeem(client, five_off(t, shop), ALICE)
    assert response.status_code == 409 and "your household has 301" in response.json["error"]["message"]
    assert stub.mutations == []


def test_a_failed_code_gives_each_member_back_their_own_points(client, t, shop, stub, households_on):
    invite_and_join(client, ALICE, BOB)
    stub.then(500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500)
    redeem(client, five_off(t, shop), BOB)
    assert balance(t, shop, ALICE).balance == 300 and balance(t, shop, BOB).balance == 400


def test_leaving_takes_no_points_from_the_others(client, t, shop, stub, households_on):
    invite_and_join(client, ALICE, BOB)
    response = post(client, "leave", {}, customer_id=BOB)
    assert response.status_code == 200
    assert balance(t, shop, ALICE).balance == 300 and balance(t, shop, BOB).balance == 400
    assert member_json(client, BOB)["household"] is None
    assert member_json(client, ALICE)["household"]["members"] == ["Alice M."]
    assert post(client, "leave", {}, customer_id=BOB).status_code == 404


def test_two_members_redeeming_at_once_never_overdraw_the_pool(client, t, shop, stub, households_on):
    invite_and_join(client, ALICE, BOB)  # a pool of 700: one 500-point reward, not two
    reward_id, statuses, barrier = five_off(t, shop), [], threading.Barrier(2)

    def click(customer_id):
        barrier.wait()
        statuses.append(redeem(client, reward_id, customer_id).status_code)

    threads = [threading.Thread(target=click, args=(c,)) for c in (ALICE, BOB)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 409]
    assert balance(t, shop, ALICE).balance + balance(t, shop, BOB).balance == 200
    assert min(balance(t, shop, ALICE).balance, balance(t, shop, BOB).balance) >= 0


def test_a_customer_redact_forgets_invitations_to_their_email_and_takes_them_out_of_the_household(
        client, t, shop, households_on):
    from app.models import HouseholdMember
    from app.services.privacy import redact_member
    from app.loyalty.privacy import Subject
    invite_and_join(client, ALICE, BOB)
    post(client, "invite", {"email": "bob@example.com"})
    with t.db.scope() as session:
        bob = session.scalar(select(Member).where(Member.shop_id == shop.id, Member.customer_id == BOB))
        redact_member(session, session.get(Shop, shop.id), bob, Subject.of({"id": BOB, "email": "bob@example.com"}, bob),
                      t.clock())
        session.commit()
        assert session.scalars(select(HouseholdInvitation.email)).all() == ["someone@example.com"]
        assert session.scalar(select(func.count()).select_from(HouseholdMember)) == 1
    assert balance(t, shop, ALICE).balance == 300
