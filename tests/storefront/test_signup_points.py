"""Signup points for new customer accounts: paid at the widget's first load of a signed-in
customer (their `state` never becomes enabled), once, whichever path sees the account first."""
import threading

import pytest

from tests.support import CUSTOMER_ID, payload, signed_proxy_query
from tests.support.ledger import balance, deliver, ledger, member_of, set_program

pytestmark = pytest.mark.both_backends


def shopify_customer(customer_id=CUSTOMER_ID, state="DISABLED"):
    """The Admin API's answer for a new-customer-accounts customer: state stays DISABLED."""
    def reply(body):
        assert body["variables"]["id"] == f"gid://shopify/Customer/{customer_id}"
        return {"data": {"customer": {"legacyResourceId": str(customer_id), "firstName": "Ana", "lastName": "Silva",
                                      "state": state, "createdAt": "2025-02-14T14:58:00Z",
                                      "defaultEmailAddress": {"emailAddress": "ana@example.com",
                                                              "marketingState": "NOT_SUBSCRIBED"},
                                      "defaultPhoneNumber": None}}}
    return reply


def member_balance(client, customer_id=CUSTOMER_ID):
    response = client.get(f"/proxy/member?{signed_proxy_query(customer_id=customer_id)}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json["balance"]


def test_first_widget_load_of_an_unknown_signed_in_customer_pays_signup_points(client, t, shop, stub):
    stub.then(shopify_customer())
    assert member_balance(client) == 100
    member = member_of(t, shop)
    assert (member.first_name, member.email, member.account_state) == ("Ana", "ana@example.com", "disabled")
    assert ledger(t, shop) == [(f"member:{member.id}:action:signup", 100)]


def test_the_same_request_again_adds_nothing_and_asks_shopify_nothing(client, t, shop, stub):
    stub.then(shopify_customer())
    member_balance(client)
    assert member_balance(client) == 100
    assert len(stub.bodies) == 1


def test_a_known_member_never_paid_signup_gets_it_without_an_admin_call(client, t, shop, stub):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    assert member_balance(client) == 110 + 100
    assert stub.bodies == []


def test_new_account_customers_create_with_disabled_state_then_first_load_pays_once(client, t, shop, stub):
    body = payload("customers/create") | {"id": CUSTOMER_ID, "state": "disabled"}
    deliver(client, t, "customers/create", body)
    assert balance(t, shop).balance == 0
    assert member_balance(client) == 100
    assert member_balance(client) == 100


def test_classic_enabled_account_already_paid_is_not_paid_again_at_first_load(client, t, shop, stub):
    deliver(client, t, "customers/update", payload("customers/update") | {"id": CUSTOMER_ID, "state": "enabled"})
    assert member_balance(client) == 100
    assert stub.bodies == []


def test_shopify_down_answers_without_signup_points_and_the_next_load_pays(client, t, shop, stub):
    stub.then(503, 503, 503, 503, 503, 503)
    assert member_balance(client) == 0
    assert member_of(t, shop) is None
    stub.replies.clear()
    stub.then(shopify_customer())
    assert member_balance(client) == 100


def test_program_without_signup_points_makes_no_admin_call(client, t, shop, stub):
    set_program(t, shop, {"actions": {"signup": {"enabled": False}}})
    assert member_balance(client) == 0
    assert stub.bodies == []


def test_concurrent_first_loads_pay_signup_once_and_never_fail(app, t, shop, stub):
    stub.then(*[shopify_customer()] * 4)
    results, barrier = [], threading.Barrier(4)

    def load():
        barrier.wait()
        with app.test_client() as c:
            response = c.get(f"/proxy/member?{signed_proxy_query()}")
            results.append((response.status_code, response.json.get("balance")))

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [(200, 100)] * 4
    assert balance(t, shop).balance == 100


def test_a_shop_needing_reauth_answers_without_asking_shopify_and_pays_after_reconnecting(client, t, shop, stub):
    from app.models import Shop
    with t.db.scope() as session:
        session.get(Shop, shop.id).reauth_required_at = t.clock()
        session.commit()
    assert member_balance(client) == 0 and stub.bodies == []
    with t.db.scope() as session:
        session.get(Shop, shop.id).reauth_required_at = None
        session.commit()
    stub.then(shopify_customer())
    assert member_balance(client) == 100
