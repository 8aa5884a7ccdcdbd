"""The stand-in's tagsAdd and tagsRemove, as strict as Shopify: write_customers, userErrors for an
id that is not a customer and for blank tags; the tags show on the customer and in the import."""
import pytest
from sqlalchemy import select

from app.devstore import DEMO_SHOP
from app.models import Member
from app.services.imports import start_import
from app.shopify.admin_access import call_admin
from app.shopify.documents import TAG_CUSTOMER, UNTAG_CUSTOMER
from app.shopify.graphql import ShopifyGraphQLError, ShopifyUserErrors


def customer_gid(demo) -> str:
    customer = demo.sign_up("alice@example.com", "Alice", "Martin", only=()).record
    return f"gid://shopify/Customer/{customer['id']}"


def tag(t, shop, document, owner, tags):
    with t.db.scope() as session:
        return call_admin(t.shopify, session, shop, document, {"id": owner, "tags": tags})


def stored_tags(demo, owner) -> list[str]:
    with demo.stand_in.state.shop(DEMO_SHOP) as state:
        return state["customers"][owner.rsplit("/", 1)[-1]].get("tags")


def test_tags_are_added_once_and_removed(t, installed, demo):
    owner = customer_gid(demo)
    tag(t, installed, TAG_CUSTOMER, owner, ["vip", "tessera-canada"])
    tag(t, installed, TAG_CUSTOMER, owner, ["VIP"])
    assert stored_tags(demo, owner) == ["vip", "tessera-canada"]
    assert tag(t, installed, UNTAG_CUSTOMER, owner, ["tessera-canada"])["tagsRemove"]["node"] == {"id": owner}
    assert stored_tags(demo, owner) == ["vip"]


def test_an_id_that_is_not_a_customer_and_blank_tags_are_user_errors(t, installed, demo):
    with pytest.raises(ShopifyUserErrors) as unknown:
        tag(t, installed, TAG_CUSTOMER, "gid://shopify/Customer/999999", ["vip"])
    assert unknown.value.user_errors[0]["field"] == ["id"]
    with pytest.raises(ShopifyUserErrors) as blank:
        tag(t, installed, TAG_CUSTOMER, customer_gid(demo), [" "])
    assert blank.value.user_errors[0]["field"] == ["tags"]


def test_tagging_needs_write_customers(t, installed, demo):
    owner = customer_gid(demo)
    with demo.stand_in.state.shop(DEMO_SHOP) as state:
        for entry in state["access_tokens"].values():
            entry["scope"] = "read_customers,read_orders"
    with pytest.raises(ShopifyGraphQLError) as refused:
        tag(t, installed, TAG_CUSTOMER, owner, ["vip"])
    assert refused.value.errors[0]["extensions"]["code"] == "ACCESS_DENIED"


def test_the_customers_import_brings_the_tags(t, installed, demo):
    owner = customer_gid(demo)
    tag(t, installed, TAG_CUSTOMER, owner, ["vip", "wholesale"])
    with t.db.scope() as session:
        job = start_import(session, session.get(type(installed), installed.id), "customers", now=t.clock(),
                           options={}, enqueue=t.queue.enqueue)
    t.queue.drain(t)
    with t.db.scope(read_only=True) as session:
        member = session.scalar(select(Member).where(Member.shop_id == installed.id))
    assert job.id and member.customer_tags == "vip, wholesale"
