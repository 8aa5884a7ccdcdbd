"""An app/uninstalled delivery about an earlier installation (Shopify retries it for hours,
and the owner may have reinstalled meanwhile) must not undo the current one."""
import pytest

from app.services import shops
from app.shopify.oauth import AccessGrant
from tests.support import SHOP, payload, send_webhook

pytestmark = pytest.mark.both_backends


def reinstall(t):
    with t.db.scope() as session:
        shops.install_shop(session, SHOP, AccessGrant("shpat_reinstalled", scope="read_orders"), source="oauth",
                           cipher=t.cipher, queue=t.queue, now=t.clock())


def stored(t):
    with t.db.scope(read_only=True) as session:
        return shops.find_shop(session, SHOP)


def uninstalled_at(client, t, triggered_at: str):
    response = send_webhook(client, "app/uninstalled", payload("app/uninstalled"), triggered_at=triggered_at)
    assert response.status_code == 200
    t.queue.drain(t)


def test_an_uninstall_triggered_before_the_reinstall_is_ignored(client, t, shop, clock):
    clock.advance(hours=1)  # 16:00: reinstalled before the 15:30 uninstall reached Tessera
    reinstall(t)
    uninstalled_at(client, t, "2025-02-14T15:30:00.000Z")
    back = stored(t)
    assert back.is_installed and t.cipher.decrypt(back.access_token_ciphertext) == "shpat_reinstalled"


def test_an_uninstall_triggered_after_the_install_still_uninstalls(client, t, shop, clock):
    clock.advance(hours=1)
    reinstall(t)
    uninstalled_at(client, t, "2025-02-14T16:10:00.000Z")
    gone = stored(t)
    assert not gone.is_installed and gone.access_token_ciphertext is None
