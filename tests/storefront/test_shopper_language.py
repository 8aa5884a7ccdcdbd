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
