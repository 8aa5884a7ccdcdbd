"""`flask --app wsgi tokens reencrypt`: retiring an old TOKEN_ENCRYPTION_KEY without losing a shop."""
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from app import create_app
from app.crypto import TokenCipherError
from app.models import Shop
from app.services import shops
from app.shopify.oauth import AccessGrant
from tests.support import OTHER_SHOP, SHOP, utc

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()

pytestmark = pytest.mark.both_backends


def tessera_with_keys(app_settings, keys: str):
    app = create_app({**app_settings, "TOKEN_ENCRYPTION_KEY": keys})
    return app, app.extensions["tessera"]


def stored_tokens(t) -> dict[str, tuple[str, str | None]]:
    with t.db.scope(read_only=True) as session:
        return {s.domain: (t.cipher.decrypt(s.access_token_ciphertext),
                           t.cipher.decrypt(s.refresh_token_ciphertext) if s.refresh_token_ciphertext else None)
                for s in session.scalars(select(Shop))}


def install_under(t, domain, token, refresh=None):
    grant = AccessGrant(token, scope="read_orders", refresh_token=refresh, expires_at=utc(2030, 1, 1),
                        refresh_token_expires_at=utc(2030, 3, 1) if refresh else None)
    with t.db.scope() as session:
        shops.install_shop(session, domain, grant, source="oauth", cipher=t.cipher, queue=t.queue, now=t.clock())


def test_an_old_key_can_be_dropped_after_reencrypt_without_losing_any_token(app_settings):
    old_app, old_t = tessera_with_keys(app_settings, OLD_KEY)
    install_under(old_t, SHOP, "shpat_one", refresh="shprt_one")
    install_under(old_t, OTHER_SHOP, "shpat_two")
    old_t.db.engine.dispose()
    rotating_app, rotating_t = tessera_with_keys(app_settings, f"{NEW_KEY},{OLD_KEY}")
    result = rotating_app.test_cli_runner().invoke(args=["tokens", "reencrypt"])
    assert result.exit_code == 0, result.output
    assert "re-encrypted 3, already under the first key 0" in result.output
    again = rotating_app.test_cli_runner().invoke(args=["tokens", "reencrypt"])
    assert "re-encrypted 0, already under the first key 3" in again.output
    rotating_t.db.engine.dispose()
    _, new_t = tessera_with_keys(app_settings, NEW_KEY)
    assert stored_tokens(new_t) == {SHOP: ("shpat_one", "shprt_one"), OTHER_SHOP: ("shpat_two", None)}
    new_t.db.engine.dispose()


def test_dropping_the_old_key_without_reencrypt_leaves_tokens_unreadable(app_settings):
    _, old_t = tessera_with_keys(app_settings, OLD_KEY)
    install_under(old_t, SHOP, "shpat_one")
    old_t.db.engine.dispose()
    _, new_t = tessera_with_keys(app_settings, NEW_KEY)
    with pytest.raises(TokenCipherError):
        stored_tokens(new_t)
    new_t.db.engine.dispose()


def test_reencrypt_with_a_missing_key_fails_loudly_and_changes_nothing(app_settings):
    _, old_t = tessera_with_keys(app_settings, OLD_KEY)
    install_under(old_t, SHOP, "shpat_one")
    with old_t.db.scope(read_only=True) as session:
        before = session.scalar(select(Shop.access_token_ciphertext))
    old_t.db.engine.dispose()
    app, t = tessera_with_keys(app_settings, NEW_KEY)
    result = app.test_cli_runner().invoke(args=["tokens", "reencrypt"])
    assert result.exit_code != 0 and "unreadable 1" in result.output
    with t.db.scope(read_only=True) as session:
        assert session.scalar(select(Shop.access_token_ciphertext)) == before
    t.db.engine.dispose()
