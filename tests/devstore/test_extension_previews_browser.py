"""The demo store's UI extensions page in headless Chromium: every section fills with the data
its extension would show, and adjusting points there moves the balance the Rewards page shows."""
from __future__ import annotations

from playwright.sync_api import expect

from app.devstore.catalog import product
from app.devstore.demo import DemoShop
from tests.storefront.test_widget_browser import axe_violations, serious


def test_each_extension_section_shows_its_data_and_an_adjustment_moves_the_balance(browser, served_demo):
    app, url = served_demo
    with app.app_context():
        demo = DemoShop(app)
        demo.install()
        alice = demo.sign_up("alice@example.com", "Alice", "Martin").record["id"]
        demo.checkout(alice, [(product("ridgeline-rain-shell"), 1, None)])
    page = browser.new_page()
    page.goto(f"{url}/devstore/extensions?customer={alice}")
    expect(page.locator("#order-status")).to_contain_text("This order earned 148 points")
    expect(page.locator("#checkout")).to_contain_text("You will earn 148 points with this order")
    expect(page.locator("#admin-order-block")).to_contain_text("Earned: 148")
    expect(page.locator("#rewards")).to_contain_text("Rewards")
    assert serious(axe_violations(page)) == []
    balance = int(page.locator("#rewards b").first.inner_text().split()[0])
    page.get_by_role("spinbutton", name="Points").fill("25")
    page.get_by_label("Reason (required)").fill("Demo goodwill")
    page.get_by_role("button", name="Adjust points").click()
    expect(page.locator("#adjust-result")).to_contain_text(f"Saved: balance {balance + 25}")
    expect(page.locator("#rewards b").first).to_have_text(f"{balance + 25} points")
    expect(page.locator("#admin-customer-block")).to_contain_text("Demo goodwill")
    page.close()


def test_the_pos_section_shows_in_store_purchases_and_redeems_onto_the_cart(browser, served_demo):
    app, url = served_demo
    with app.app_context():
        demo = DemoShop(app)
        demo.install()
        alice = demo.sign_up("alice@example.com", "Alice", "Martin").record["id"]
        demo.checkout(alice, [(product("ridgeline-rain-shell"), 1, None)], location="Main Street store")
        add_counter_treat(app)
    page = browser.new_page()
    page.goto(f"{url}/devstore/extensions?customer={alice}")
    expect(page.locator("#pos-modal")).to_contain_text("in store at Main Street store")
    assert serious(axe_violations(page)) == []
    page.get_by_role("button", name="Redeem Counter treat").click()
    expect(page.locator("#pos-result")).to_contain_text("applied to the cart")
    page.close()


def add_counter_treat(app) -> None:
    from app.devstore import DEMO_SHOP
    from app.services.rewards import create_reward
    from app.services.shops import find_shop
    t = app.extensions["tessera"]
    with t.db.scope() as session:
        create_reward(session, find_shop(session, DEMO_SHOP),
                      {"kind": "amount_off", "name": "Counter treat", "points_cost": 100, "value": "5"})
