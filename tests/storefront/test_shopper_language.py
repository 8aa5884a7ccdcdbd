"""GET /proxy/member?locale=it and the other storefront answers speak the shopper's language:
activity reasons, notices and errors, for the 7 storefront locales; English stays the fallback."""
import pytest
from sqlalchemy import update

from app.models import LedgerEntry
from tests.support import payload, signed_proxy_query
from tests.support.ledger import deliver, entries

pytestmark = pytest.mark.both_backends

LOGIN_REQUIRED = {"en": "Log in to your account to use your points.",
                  "de": "Melde dich in deinem Konto an, um deine Punkte zu nutzen.",
                  "es": "Inicia sesión en tu cuenta para usar tus puntos.",
                  "fr": "Connectez-vous à votre compte pour utiliser vos points.",
                  "it": "Accedi al tuo account per usare i tuoi punti.",
                  "pl": "Zaloguj się na swoje konto, aby korzystać z punktów.",
                  "ro": "Conectează-te la contul tău pentru a-ți folosi punctele."}


def member_in(client, locale):
    return client.get(f"/proxy/member?{signed_proxy_query(locale=locale)}")


def test_member_activity_reads_in_italian(client, t, shop):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    activity = member_in(client, "it").json["recent_activity"]
    reasons = [a["reason"] for a in activity]
    assert reasons == ["Account creato = 100 punti",
                       "Ordine #1042: 1 punto ogni $1 su $110.00 di subtotale = 110 punti"]


def test_the_same_entries_read_in_polish_with_polish_plurals(client, t, shop):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    reasons = [a["reason"] for a in member_in(client, "pl").json["recent_activity"]]
    assert reasons[-1] == "Zamówienie #1042: 1 punkt za każde $1 od $110.00 (suma częściowa) = 110 punktów"


def test_an_unknown_or_missing_locale_reads_in_english(client, t, shop):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    for response in (member_in(client, "pt-BR"), client.get(f"/proxy/member?{signed_proxy_query()}")):
        assert response.json["recent_activity"][-1]["reason"].startswith("Order #1042: 1 point per $1")


def test_entries_written_before_reason_codes_read_as_their_stored_sentence(client, t, shop):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    member_in(client, "en")  # the signup points come with the first visit
    with t.db.scope() as session:
        session.execute(update(LedgerEntry).where(LedgerEntry.shop_id == shop.id)
                        .values(reason_code=None, reason_params=None, reason="Old sentence"))
        session.commit()
    assert {a["reason"] for a in member_in(client, "de").json["recent_activity"]} == {"Old sentence"}


def test_the_ledger_keeps_the_english_sentence_next_to_the_code(client, t, shop):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    order_entry = entries(t, shop)[-1]
    assert order_entry.reason_code == "order.earned"
    assert order_entry.reason == "Order #1042: 1 point per $1 on $110.00 subtotal = 110 points"


@pytest.mark.parametrize("locale", sorted(LOGIN_REQUIRED))
def test_errors_answer_in_the_shoppers_locale(client, t, shop, locale):
    response = client.post(f"/proxy/redeem?{signed_proxy_query(customer_id=None, locale=locale)}",
                           json={"reward_id": 1})
    assert response.status_code == 401
    assert response.json["error"] == {"code": "login_required", "message": LOGIN_REQUIRED[locale]}


def test_field_problems_are_translated_too(client, t, shop):
    response = client.post(f"/proxy/claim?{signed_proxy_query(locale='fr')}", json={"action": "birthday",
                                                                                   "birthday": "soon"})
    assert response.status_code == 422
    error = response.json["error"]
    assert error["message"] == "Saisissez votre anniversaire sous forme de date."
    assert error["fields"] == [{"field": "birthday", "problem": "AAAA-MM-JJ"}]


def test_a_refused_signature_is_refused_in_the_shoppers_language(client, t, shop):
    query = signed_proxy_query(locale="de").replace("locale=de", "locale=de&x=1")
    response = client.get(f"/proxy/member?{query}")
    assert response.status_code == 401
    assert response.json["error"]["message"] == "Diese Anfrage kam nicht über den App-Proxy des Shops."


def test_a_claimed_action_is_confirmed_in_the_shoppers_language(client, t, shop):
    from tests.support.ledger import set_program
    set_program(t, shop, {"actions": {"social_follow": {"enabled": True, "points": 5,
                                                         "networks": {"instagram": "https://instagram.com/shop"}}}})
    response = client.post(f"/proxy/claim?{signed_proxy_query(locale='es')}",
                           json={"action": "social_follow", "network": "instagram"})
    assert response.status_code == 200, response.json
    assert response.json["message"] == "Nos sigues (instagram) = 5 puntos"


def test_entries_of_orders_refunds_cancellations_signup_and_staff_all_carry_a_reason_code(client, t, shop):
    from tests.support.ledger import adjust
    deliver(client, t, "orders/paid", payload("orders/paid"))
    member_in(client, "en")
    deliver(client, t, "refunds/create", payload("refunds/create"))
    adjust(t, shop, 15, reason="Sorry")
    cancelled = payload("orders/paid")
    cancelled.update(cancelled_at="2025-02-14T16:00:00Z", financial_status="voided")
    deliver(client, t, "orders/cancelled", cancelled)
    written = entries(t, shop)
    assert len(written) >= 4 and all(e.reason_code for e in written), [(e.kind, e.reason) for e in written]
    italian = [a["reason"] for a in member_in(client, "it").json["recent_activity"]]
    assert all(not reason.startswith(("Order", "Refund", "Adjusted", "Created")) for reason in italian), italian


# ---- the games and pooled programs (issue 18) write codes too ------------------------------------

GAMES = {"badges": {"enabled": True, "rules": [{"key": "first-order", "name": "Primo ordine", "action": "orders",
                                                "count": 1, "bonus_points": 40}]},
         "challenges": {"enabled": True, "challenges": [{"key": "one-in-30", "name": "Sprint", "kind": "orders",
                                                         "goal": 1, "days": 30, "reward_points": 70}]},
         "feedback": {"enabled": True, "points": 30},
         "charity": {"enabled": True, "points_per_unit": 100, "matching_percent": "50", "min_points": 100,
                     "causes": [{"key": "trees", "name": "Alberi", "description": "Un albero per euro"}]}}


def play_every_game(client, t, shop):
    from tests.support.ledger import set_program
    set_program(t, shop, GAMES)
    order = payload("orders/paid")
    deliver(client, t, "orders/paid", order)  # order points, the badge bonus, the challenge bonus
    answered = client.post(f"/proxy/feedback?{signed_proxy_query()}",
                           json={"order_id": str(order["id"]), "nps": 9, "csat": 5})
    assert answered.status_code == 201, answered.json
    given = client.post(f"/proxy/donate?{signed_proxy_query()}", json={"cause": "trees", "points": 200},
                        headers={"Idempotency-Key": "donation-0001"})
    assert given.status_code == 201, given.json


def test_badge_challenge_feedback_and_donation_entries_carry_a_reason_code(client, t, shop):
    play_every_game(client, t, shop)
    codes = {e.reason_code for e in entries(t, shop)}
    assert {"badge.earned", "challenge.completed", "feedback.points", "donation.given_matched"} <= codes
    assert all(e.reason_code for e in entries(t, shop)), [(e.kind, e.reason) for e in entries(t, shop)]
    by_code = {e.reason_code: e.reason for e in entries(t, shop)}
    assert by_code["challenge.completed"] == "Challenge completed: Sprint (1 order within 30 days) = 70 points"
    assert by_code["donation.given_matched"] == "Donated to Alberi: $2.00 (+$1.00 matched by the store) = -200 points"


def test_games_entries_read_in_italian(client, t, shop):
    play_every_game(client, t, shop)
    italian = [a["reason"] for a in member_in(client, "it").json["recent_activity"]]
    assert "Donazione a Alberi: $2.00 (+$1.00 aggiunti dal negozio) = -200 punti" in italian
    assert "Badge ottenuto: Primo ordine = 40 punti" in italian
    assert "Sfida completata: Sprint (1 ordine entro 30 giorni) = 70 punti" in italian
    assert "Feedback sull'ordine #1042 = 30 punti" in italian


def test_a_donation_refused_for_too_few_points_answers_in_italian(client, t, shop):
    from tests.support.ledger import set_program
    set_program(t, shop, GAMES)
    response = client.post(f"/proxy/donate?{signed_proxy_query(locale='it')}", json={"cause": "trees", "points": 5},
                           headers={"Idempotency-Key": "donation-0002"})
    assert response.status_code == 422
    assert response.json["error"]["message"] == "Dona almeno 100 punti."
    assert response.json["error"]["fields"] == [{"field": "points", "problem": "un numero intero da 100 in su"}]


def pooled_redemption(client, t, shop):
    """Alice (300 points) redeems the 500-point reward; Bob (400) pays the other 200 from the pool."""
    import uuid

    from sqlalchemy import select

    from app.models import Member, Reward
    from tests.pooled.test_households import ALICE, BOB, households_on, invite_and_join  # noqa: F401
    from tests.support.ledger import adjust, set_program
    set_program(t, shop, {"households": {"enabled": True, "max_members": 3}})
    for customer_id, first, last, points in ((ALICE, "Alice", "Martin", 300), (BOB, None, None, 400)):
        adjust(t, shop, points, customer_id)
        with t.db.scope() as session:
            member = session.scalar(select(Member).where(Member.shop_id == shop.id, Member.customer_id == customer_id))
            member.first_name, member.last_name = first, last
            session.commit()
    invite_and_join(client, ALICE, BOB)
    with t.db.scope(read_only=True) as session:
        reward = session.scalar(select(Reward).where(Reward.shop_id == shop.id))
    return reward.id, reward.name, ALICE, BOB, uuid.uuid4().hex


def ledger_of_shop(t, shop):
    from sqlalchemy import select
    with t.db.scope(read_only=True) as session:
        return session.scalars(select(LedgerEntry).where(LedgerEntry.shop_id == shop.id)
                               .order_by(LedgerEntry.id)).all()


def test_a_pooled_redemption_writes_codes_and_reads_in_italian(client, t, shop, stub):
    reward_id, reward_name, alice, bob, key = pooled_redemption(client, t, shop)
    # Bob redeems: his 400 go first, then 100 of Alice's, who reads who spent them (never an email).
    response = client.post(f"/proxy/redeem?{signed_proxy_query(customer_id=bob, locale='it')}",
                           json={"reward_id": reward_id, "idempotency_key": key})
    assert response.status_code == 200, response.json
    debits = [e for e in ledger_of_shop(t, shop) if e.kind == "redeem"]
    assert [e.reason_code for e in debits] == ["redemption.code", "household.redeemed_by_other"]
    alice_reads = [a["reason"] for a in client.get(
        f"/proxy/member?{signed_proxy_query(customer_id=alice, locale='it')}").json["recent_activity"]]
    code = debits[0].reason_params["code"]
    assert (f"Riscattato: {reward_name} (codice {code}) da un altro membro della famiglia, "
            "dal saldo condiviso della famiglia") in alice_reads
    bob_household = client.get(f"/proxy/member?{signed_proxy_query(customer_id=bob, locale='it')}").json["household"]
    assert bob_household["members"] == ["Alice M.", "Membro della famiglia"]


def test_points_a_failed_pooled_code_gives_back_carry_a_code(client, t, shop, stub):
    reward_id, _, alice, _, key = pooled_redemption(client, t, shop)
    stub.then(*[500] * 15)
    client.post(f"/proxy/redeem?{signed_proxy_query(customer_id=alice)}",
                json={"reward_id": reward_id, "idempotency_key": key})
    returned = [e for e in ledger_of_shop(t, shop) if e.kind == "reversal"]
    assert len(returned) == 2 and {e.reason_code for e in returned} == {"redemption.returned_failed"}
    italian = [a["reason"] for a in client.get(
        f"/proxy/member?{signed_proxy_query(customer_id=alice, locale='it')}").json["recent_activity"]]
    assert not [r for r in italian if r.startswith(("Redeemed", "Points back"))], italian


def test_a_household_error_answers_in_italian(client, t, shop):
    from tests.support.ledger import set_program
    set_program(t, shop, {"households": {"enabled": True}})
    response = client.post(f"/proxy/household/leave?{signed_proxy_query(locale='it')}", json={})
    assert response.status_code == 404
    assert response.json["error"]["message"] == "Non fai parte di nessuna famiglia."
