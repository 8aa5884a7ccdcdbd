"""The Admin GraphQL client at the HTTP boundary (responses): throttling, retries, errors."""
import json

import pytest
import requests
import responses

from app.shopify.documents import CREATE_BASIC_DISCOUNT_CODE, SHOP_INFO
from app.shopify.graphql import (BUCKETS, AdminClient, ShopifyAuthError, ShopifyGraphQLError, ShopifyUnavailable,
                                 ShopifyUserErrors)
from tests.support import API_VERSION, SHOP

URL = f"https://{SHOP}/admin/api/{API_VERSION}/graphql.json"
COST = {"requestedQueryCost": 10, "actualQueryCost": 10,
        "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1990, "restoreRate": 100.0}}
SHOP_DATA = {"shop": {"name": "Maple & Pine Goods", "currencyCode": "CAD"}}
THROTTLED = {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
             "extensions": {"cost": {"requestedQueryCost": 202, "actualQueryCost": None,
                                     "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 2,
                                                        "restoreRate": 100.0}}}}


@pytest.fixture
def sleeps():
    BUCKETS._by_shop.clear()
    return []


@pytest.fixture
def client(sleeps):
    return AdminClient("maple-pine-goods.myshopify.com", "shpat_x", url=URL, sleep=sleeps.append)


@responses.activate
def test_success_returns_data_and_sends_token_and_operation(client):
    responses.post(URL, json={"data": SHOP_DATA, "extensions": {"cost": COST}})
    assert client.execute(SHOP_INFO) == SHOP_DATA
    request = responses.calls[0].request
    assert request.headers["X-Shopify-Access-Token"] == "shpat_x"
    assert json.loads(request.body)["operationName"] == "ShopInfo"


@responses.activate
def test_throttled_answer_waits_for_the_bucket_then_retries(client, sleeps):
    responses.post(URL, json=THROTTLED)
    responses.post(URL, json={"data": SHOP_DATA, "extensions": {"cost": COST}})
    assert client.execute(SHOP_INFO) == SHOP_DATA
    assert len(responses.calls) == 2
    assert 2.0 <= sleeps[0] <= 2.1  # (202 - 2) / 100 per second, plus jitter


@responses.activate
def test_http_429_honours_retry_after(client, sleeps):
    responses.post(URL, status=429, headers={"Retry-After": "3"})
    responses.post(URL, json={"data": SHOP_DATA, "extensions": {"cost": COST}})
    client.execute(SHOP_INFO)
    assert sleeps == [3.0]


@responses.activate
def test_server_errors_and_timeouts_are_retried_with_capped_jittered_backoff(client, sleeps):
    responses.post(URL, status=502)
    responses.post(URL, body=requests.Timeout("read timed out"))
    responses.post(URL, status=503)
    responses.post(URL, json={"data": SHOP_DATA, "extensions": {"cost": COST}})
    assert client.execute(SHOP_INFO) == SHOP_DATA
    assert len(sleeps) == 3 and all(0 <= s <= 8 for s in sleeps)


@responses.activate
def test_gives_up_after_the_attempt_cap(client, sleeps):
    for _ in range(5):
        responses.post(URL, status=500)
    with pytest.raises(ShopifyUnavailable, match="after 5 attempts"):
        client.execute(SHOP_INFO)
    assert len(responses.calls) == 5 and len(sleeps) == 4


@responses.activate
def test_user_errors_raise_a_typed_error_with_codes(client):
    responses.post(URL, json={"data": {"discountCodeBasicCreate": {"codeDiscountNode": None, "userErrors": [
        {"field": ["basicCodeDiscount", "code"], "code": "TAKEN", "message": "Code must be unique."}]}},
        "extensions": {"cost": COST}})
    with pytest.raises(ShopifyUserErrors) as caught:
        client.execute(CREATE_BASIC_DISCOUNT_CODE, {"basicCodeDiscount": {}})
    assert caught.value.codes == {"TAKEN"} and len(responses.calls) == 1


@responses.activate
def test_refused_token_is_an_auth_error_not_retried(client):
    responses.post(URL, status=401, json={"errors": "Invalid API key or access token"})
    with pytest.raises(ShopifyAuthError):
        client.execute(SHOP_INFO)
    assert len(responses.calls) == 1


@responses.activate
def test_access_denied_is_a_graphql_error(client):
    responses.post(URL, json={"data": {"shop": None}, "errors": [
        {"message": "Access denied", "extensions": {"code": "ACCESS_DENIED"}}]})
    with pytest.raises(ShopifyGraphQLError, match="Access denied"):
        client.execute(SHOP_INFO)


@responses.activate
def test_low_bucket_makes_the_next_call_wait_before_sending(client, sleeps):
    low = {**COST, "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": 0, "restoreRate": 50.0}}
    responses.post(URL, json={"data": SHOP_DATA, "extensions": {"cost": low}})
    responses.post(URL, json={"data": SHOP_DATA, "extensions": {"cost": COST}})
    client.monotonic = lambda: 100.0
    client.execute(SHOP_INFO)
    client.execute(SHOP_INFO)
    assert sleeps and sleeps[0] == pytest.approx(2 / 50)


@responses.activate
def test_fields_withheld_by_shopify_come_back_as_a_typed_partial_result(client):
    from app.shopify.documents import CUSTOMERS_PAGE
    from app.shopify.graphql import ShopifyAccessDenied
    from tests.support.graphql_orders import withholding
    page = {"data": {"customers": {"nodes": [{"legacyResourceId": "11", "email": "ana@example.com", "state": "ENABLED"}],
                                   "pageInfo": {"hasNextPage": False, "endCursor": None}}}, "extensions": {"cost": COST}}
    responses.post(URL, json=withholding(page, "customers", ("email",)))
    responses.post(URL, json=withholding(page, "customers", ("email",)))
    result = client.execute_partial(CUSTOMERS_PAGE)
    assert result.data["customers"]["nodes"] == [{"legacyResourceId": "11", "email": None, "state": "ENABLED"}]
    assert result.denied_names == ["email"] and result.denied[0].path == ("customers", "nodes", 0, "email")
    with pytest.raises(ShopifyAccessDenied) as refused:  # a caller that needs every field still fails
        client.execute(CUSTOMERS_PAGE)
    assert refused.value.data == result.data


@responses.activate
def test_a_root_field_refused_for_a_missing_scope_is_not_a_partial_result(client):
    responses.post(URL, json={"data": None, "errors": [{"message": "Access denied for shop field.", "path": ["shop"],
                                                        "extensions": {"code": "ACCESS_DENIED"}}]})
    with pytest.raises(ShopifyGraphQLError):
        client.execute_partial(SHOP_INFO)


@responses.activate
@pytest.mark.parametrize("lost", [requests.ReadTimeout("read timed out"), 502], ids=["timeout", "502"])
def test_a_mutation_without_idempotency_is_not_sent_again_after_an_ambiguous_failure(client, lost):
    from app.shopify.graphql import ShopifyOutcomeUnknown
    responses.post(URL, body=lost) if isinstance(lost, Exception) else responses.post(URL, status=lost)
    responses.post(URL, json={"data": SHOP_DATA, "extensions": {"cost": COST}})
    with pytest.raises(ShopifyOutcomeUnknown):
        client.execute(SHOP_INFO, retry_ambiguous=False)
    assert len(responses.calls) == 1


@responses.activate
def test_a_refusal_before_running_is_retried_even_without_idempotency(client):
    responses.post(URL, json=THROTTLED)
    responses.post(URL, status=429, headers={"Retry-After": "1"})
    responses.post(URL, json={"data": SHOP_DATA, "extensions": {"cost": COST}})
    assert client.execute(SHOP_INFO, retry_ambiguous=False) == SHOP_DATA
    assert len(responses.calls) == 3


@responses.activate
def test_retries_stop_at_the_callers_deadline():
    from app.shopify.graphql import ShopifyDeadlineExceeded
    BUCKETS._by_shop.clear()
    now = [100.0]

    def sleep(seconds):
        now[0] += seconds

    def slow_502(_request):
        now[0] += 4.0  # each answer takes 4 s
        return 502, {}, "{}"

    responses.add_callback(responses.POST, URL, callback=slow_502)
    client = AdminClient("maple-pine-goods.myshopify.com", "shpat_x", url=URL, sleep=sleep,
                         monotonic=lambda: now[0], backoff_base=0.01, backoff_cap=0.01)
    with pytest.raises(ShopifyDeadlineExceeded):
        client.execute(SHOP_INFO, deadline=now[0] + 10.0)
    assert len(responses.calls) == 3 and now[0] <= 112.1
