"""Campaigns limited to a collection: products are fetched from Shopify after saving."""
import responses

from app.models import Shop
from app.services.program import current_program, update_program
from tests.support import ORDER_ID, payload
from tests.support.ledger import balance, deliver
from tests.support.shopify_stub import AdminStub

CAMPAIGN = {"key": "hoodies", "name": "Hoodie week", "starts_at": "2025-02-01T00:00:00Z",
            "ends_at": "2025-03-01T00:00:00Z", "multiplier": "3", "collection_ids": [333]}


def products_page(*ids, has_next=False, cursor=None):
    return {"data": {"collection": {"products": {"nodes": [{"legacyResourceId": str(i)} for i in ids],
                                                 "pageInfo": {"hasNextPage": has_next, "endCursor": cursor}}}}}


def test_collection_campaign_matches_nothing_until_resolved_then_its_products(client, t, shop):
    with t.db.scope() as session:
        update_program(session, session.get(Shop, shop.id), {"campaigns": [CAMPAIGN]}, staff_user_id="1",
                       now=t.clock(), queue=t.queue)
    resolve_job = t.queue._jobs.get_nowait()
    assert resolve_job[:2] == ("resolve_campaign_collections", (shop.id,))
    first = payload("orders/paid")
    first.update(id=ORDER_ID + 1, name="#1")
    deliver(client, t, "orders/paid", first)
    assert balance(t, shop).balance == 110  # not tripled: the collection's products are not known yet
    with responses.RequestsMock() as rsps:
        stub = AdminStub(rsps).then(products_page(1, has_next=True, cursor="p2"), products_page(8123456789012))
        t.queue.enqueue(*resolve_job[:1], *resolve_job[1])
        t.queue.drain(t)
        assert [b["variables"]["after"] for b in stub.bodies] == [None, "p2"]
    with t.db.scope(read_only=True) as session:
        _, program = current_program(session, session.get(Shop, shop.id))
    assert program.campaigns[0].collection_product_ids == [1, 8123456789012]
    deliver(client, t, "orders/paid", payload("orders/paid"))
    assert balance(t, shop).balance == 110 + 330
