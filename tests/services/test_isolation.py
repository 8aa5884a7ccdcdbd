"""Two shops: nothing of one is visible to or changed by the other."""
import pytest
from sqlalchemy import select

from app.models import LedgerEntry, Member, Order, WebhookEvent
from tests.support import OTHER_SHOP, payload
from tests.support.ledger import balance, deliver, member_of

pytestmark = pytest.mark.both_backends


def test_same_order_and_customer_ids_in_two_shops_stay_apart(client, t, shop, other_shop):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    deliver(client, t, "orders/paid", payload("orders/paid"), shop=OTHER_SHOP)
    deliver(client, t, "refunds/create", payload("refunds/create"), shop=OTHER_SHOP)
    assert balance(t, shop).balance == 110 and balance(t, other_shop).balance == 55
    assert member_of(t, shop).id != member_of(t, other_shop).id
    with t.db.scope(read_only=True) as session:
        for model in (LedgerEntry, Member, Order, WebhookEvent):
            shops = {row.shop_id for row in session.scalars(select(model))}
            assert shops == {shop.id, other_shop.id}


def test_members_show_cli_is_scoped_to_the_shop(app, client, t, shop, other_shop):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    runner = app.test_cli_runner()
    mine = runner.invoke(args=["members", "show", shop.domain, "7412583020571"])
    theirs = runner.invoke(args=["members", "show", OTHER_SHOP, "7412583020571"])
    assert mine.exit_code == 0 and "balance: 110" in mine.output and "1 point per $1 on $110.00" in mine.output
    assert theirs.exit_code == 0 and "balance: 0" in theirs.output and "not seen yet" in theirs.output
