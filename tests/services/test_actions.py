"""Actions claimed by integrations (reviews) and birthdays, with their limits."""
from datetime import date

import pytest

from app.services.integration_tokens import new_integration_token
from app.models import Member, Shop
from app.services.maintenance import maintain_members
from app.services.members import set_birthday
from tests.support import CUSTOMER_ID, payload
from tests.support.ledger import balance, deliver, entries, member_of, set_program

pytestmark = pytest.mark.both_backends


@pytest.fixture
def token(t, shop):
    set_program(t, shop, {"actions": {"product_review": {"enabled": True, "points": 50, "limit": "per_period",
                                                         "max_per_period": 2, "period_days": 30}}})
    with t.db.scope() as session:
        return new_integration_token(session, session.get(Shop, shop.id))


def review(client, token, review_id, customer_id=CUSTOMER_ID):
    return client.post("/integrations/reviews", json={"customer_id": customer_id, "review_id": review_id},
                       headers={"Authorization": f"Bearer {token}"})


def test_reviews_app_awards_points_once_per_review_within_the_period_limit(client, t, shop, token):
    first = review(client, token, "r-1")
    assert first.status_code == 201 and first.json == {"points": 50, "balance": 50}
    again = review(client, token, "r-1")
    assert again.status_code == 409 and "Already claimed" in again.json["error"]["message"]
    assert review(client, token, "r-2").status_code == 201
    limited = review(client, token, "r-3")
    assert limited.status_code == 409 and "at most 2 every 30 days" in limited.json["error"]["message"]
    t.clock.advance(days=31)
    assert review(client, token, "r-3").status_code == 201
    assert balance(t, shop).balance == 150


def test_reviews_endpoint_needs_the_shops_token_and_a_valid_body(client, t, shop, token):
    assert review(client, "tsi_wrong", "r-1").status_code == 401
    bad = client.post("/integrations/reviews", json={"customer_id": "abc"}, headers={"Authorization": f"Bearer {token}"})
    assert bad.status_code == 422
    assert {f["field"] for f in bad.json["error"]["fields"]} == {"customer_id", "review_id"}


def test_birthday_points_once_a_year_on_the_day(client, t, shop):
    set_program(t, shop, {"actions": {"birthday": {"enabled": True, "points": 200, "limit": "once_per_year"}}})
    deliver(client, t, "customers/update", payload("customers/update"))
    with t.db.scope() as session:
        member = session.get(Member, member_of(t, shop).id)
        set_birthday(session, session.get(Shop, shop.id), member, date(1990, 2, 20), now=t.clock())

    def run():
        with t.db.scope() as session:
            return maintain_members(session, session.get(Shop, shop.id), now=t.clock()).birthdays

    assert run() == 0  # Feb 14
    t.clock.advance(days=6)
    assert run() == 1 and run() == 0
    t.clock.advance(days=365)
    assert run() == 1
    assert [e.reason for e in entries(t, shop) if "birthday" in e.entry_key][0].startswith("Happy birthday")


def test_birthday_cannot_be_changed_to_farm_points(client, t, shop):
    from app.loyalty.errors import ActionNotAllowed
    deliver(client, t, "customers/update", payload("customers/update"))
    with t.db.scope() as session:
        s, member = session.get(Shop, shop.id), session.get(Member, member_of(t, shop).id)
        set_birthday(session, s, member, date(1990, 2, 20), now=t.clock())
        with pytest.raises(ActionNotAllowed):
            set_birthday(session, s, member, date(1990, 3, 1), now=t.clock())
