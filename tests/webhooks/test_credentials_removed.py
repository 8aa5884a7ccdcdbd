"""Uninstall and shop/redact remove every credential Tessera holds for the shop, including the
integration token other apps (e.g. a reviews app) use to call Tessera."""
import pytest

from app.services.integration_tokens import new_integration_token
from app.models import Shop
from tests.conftest import install
from tests.support import CUSTOMER_ID, SHOP, payload, send_webhook

pytestmark = pytest.mark.both_backends


@pytest.fixture
def integration_token(t, shop):
    with t.db.scope() as session:
        return new_integration_token(session, session.get(Shop, shop.id))


def deliver(client, t, topic):
    assert send_webhook(client, topic, payload(topic)).status_code == 200
    t.queue.drain(t)


def claim_review(client, token):
    return client.post("/integrations/reviews", json={"customer_id": CUSTOMER_ID, "review_id": "r-1"},
                       headers={"Authorization": f"Bearer {token}"})


def stored_credentials(t, shop):
    with t.db.scope(read_only=True) as session:
        row = session.get(Shop, shop.id)
        return (row.access_token_ciphertext, row.refresh_token_ciphertext, row.integration_token_hash)


def test_a_leaked_integration_token_stops_working_after_uninstall_and_reinstall(client, t, shop, integration_token):
    deliver(client, t, "app/uninstalled")
    assert stored_credentials(t, shop) == (None, None, None)
    install(t, SHOP)
    assert claim_review(client, integration_token).status_code == 401


def test_shop_redact_leaves_no_credential_of_the_shop(client, t, shop, integration_token):
    with t.db.scope() as session:  # a token set again after the uninstall (e.g. from the CLI)
        new_integration_token(session, session.get(Shop, shop.id))
    with t.db.scope() as session:
        session.get(Shop, shop.id).uninstalled_at = t.clock()
        session.commit()
    deliver(client, t, "shop/redact")
    assert stored_credentials(t, shop) == (None, None, None)
