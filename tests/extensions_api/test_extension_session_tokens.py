"""Customer account / checkout extension tokens are verified as Shopify documents them."""
import time

import pytest

from app.shopify.session_tokens import InvalidSessionToken, decode_extension_token
from tests.support import API_KEY, CUSTOMER_ID, SECRET, SHOP
from tests.support.extension_tokens import GUEST, extension_token


def decode(token, secrets=(SECRET,)):
    return decode_extension_token(token, api_key=API_KEY, secrets=list(secrets))


def test_a_signed_in_customer_token_names_the_shop_and_the_customer():
    claims = decode(extension_token())
    assert (claims.shop_domain, claims.customer_id) == (SHOP, CUSTOMER_ID)


def test_a_guest_token_has_no_customer():
    assert decode(extension_token(customer_id=GUEST)).customer_id is None


def test_a_token_signed_with_the_previous_secret_passes_during_a_rotation():
    token = extension_token(secret="shpss_previous_secret_0123456789abcd")
    assert decode(token, secrets=(SECRET, "shpss_previous_secret_0123456789abcd")).shop_domain == SHOP


# Built when the test runs, not when pytest collects it: times are relative to the check.
@pytest.mark.parametrize("make_token", [
    lambda: extension_token(secret="shpss_someone_else_0123456789abcdefgh"),
    lambda: extension_token(api_key="another-apps-client-id"),
    lambda: extension_token(now=time.time() - 400),  # expired well past the 10 s leeway
    lambda: extension_token(now=time.time() + 60),  # not valid yet
    lambda: extension_token(exp=None),
    lambda: extension_token(dest="https://maple-pine-goods.myshopify.com/admin"),
    lambda: extension_token(dest="evil.example.com"),
    lambda: extension_token(sub="gid://shopify/StaffMember/5"),
    lambda: extension_token(sub="gid://shopify/Customer/abc"),
    lambda: "not-a-jwt",
], ids=["wrong-secret", "wrong-aud", "expired", "not-yet-valid", "no-exp", "dest-url-with-path", "dest-not-shopify",
        "sub-not-a-customer", "sub-not-a-number", "garbage"])
def test_tokens_shopify_did_not_sign_for_us_are_refused(make_token):
    with pytest.raises(InvalidSessionToken):
        decode(make_token())


def test_a_token_within_the_ten_second_leeway_still_passes():
    assert decode(extension_token(now=time.time() - 305)).customer_id == CUSTOMER_ID
