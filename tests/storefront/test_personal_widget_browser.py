"""The personal widget in a real browser on the demo storefront: the member is greeted, reads the
next reward in reach and what is left to do; a guest reads what the cart would earn."""
import pytest
from playwright.sync_api import expect

from app.models import Member
from tests.support import CUSTOMER_ID, payload
from tests.support.ledger import adjust, deliver, member_of, set_program
from tests.storefront.test_widget_browser import admin_schema_built, app_settings, open_panel, storefront  # noqa: F401

MUG, SOCKS = 44123456789416, 44123456789315


def name_member(t, shop, first_name):
    with t.db.scope() as session:
        session.get(Member, member_of(t, shop).id).first_name = first_name
        session.commit()


def test_a_new_member_is_greeted_and_sees_the_next_reward_and_the_first_order_bonus_first(storefront, t, shop):
    set_program(t, shop, {"actions": {"first_order": {"enabled": True, "points": 100},
                                      "birthday": {"enabled": True, "points": 200}}})
    adjust(t, shop, 280)  # plus 100 signup points on the first load: 120 short of "USD 5 off" (500)
    name_member(t, shop, "Ada")
    dialog = open_panel(storefront(CUSTOMER_ID))
    expect(dialog.get_by_role("heading", name="Hi Ada!")).to_be_visible()
    expect(dialog.locator("[data-next-reward]")).to_have_text("120 points to USD 5 off")
    expect(dialog.get_by_role("heading", name="Start here")).to_be_visible()
    todo = dialog.locator("[data-todo] li")
    expect(todo.first).to_contain_text("+100 points")
    expect(todo).to_have_count(2)  # first order, birthday; the signup is done


def test_a_member_who_can_afford_a_reward_is_told_so(storefront, t, shop):
    adjust(t, shop, 600)
    dialog = open_panel(storefront(CUSTOMER_ID))
    expect(dialog.locator("[data-next-reward]")).to_have_text("You can redeem USD 5 off")
    expect(dialog.get_by_role("heading", name="Hi Ada!")).to_have_count(0)  # no first name, no greeting


def test_a_guest_reads_what_the_cart_would_earn(storefront, app, t, shop):
    app.extensions["storefront_preview"].cart_items.update({MUG: 1, SOCKS: 2})  # 18 + 44 USD
    dialog = open_panel(storefront("guest"))
    expect(dialog.locator("[data-estimate]")).to_have_text("This cart would earn you 62 points.")


def test_a_guest_with_an_empty_cart_sees_no_estimate(storefront, t, shop):
    dialog = open_panel(storefront("guest"))
    expect(dialog).to_contain_text("Join our rewards program")
    expect(dialog.locator("[data-estimate]")).to_have_count(0)


def test_the_estimate_is_in_the_shoppers_language(storefront, app, t, shop):
    app.extensions["storefront_preview"].cart_items.update({MUG: 1})
    dialog = open_panel(storefront("guest", locale="fr"), name="Récompenses")
    expect(dialog.locator("[data-estimate]")).to_have_text("Ce panier vous rapporterait 18 points.")


def test_a_member_with_a_challenge_under_way_reads_its_progress_at_the_top(storefront, client, t, shop, stub):
    set_program(t, shop, {"challenges": {"enabled": True, "challenges": [
        {"key": "three", "name": "Three in a month", "kind": "orders", "goal": 3, "days": 30, "reward_points": 300}]}})
    deliver(client, t, "orders/paid", payload("orders/paid"))
    dialog = open_panel(storefront(CUSTOMER_ID))
    expect(dialog.locator("p", has_text="Three in a month: 1 of 3").first).to_be_visible()
    expect(dialog.get_by_role("heading", name="Start here")).to_have_count(0)  # ordered: off the welcome path
