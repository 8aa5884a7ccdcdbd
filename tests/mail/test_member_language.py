"""A member's email language comes from the customer's Shopify `locale`, read by the customers
import (the Admin API's Customer.locale; customer webhooks do not carry it)."""
from __future__ import annotations

from tests.admin.test_imports import count, customer_node, customers_page, start, step
from tests.support.ledger import member_of


def test_the_customers_import_keeps_each_customers_locale(t, shop, stub):
    stub.then(count("customers", 2),
              customers_page({**customer_node(11, "ana@example.com"), "locale": "de-CH"},
                             {**customer_node(12, "bo@example.com"), "locale": "en"}))
    job = step(t, shop, start(t, shop, "customers"), budget_seconds=60)
    assert job.status == "done"
    assert (member_of(t, shop, 11).locale, member_of(t, shop, 12).locale) == ("de-CH", "en")
    assert "locale" in stub.bodies[-1]["query"]
