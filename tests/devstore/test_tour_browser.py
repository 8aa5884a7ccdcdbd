"""The tour of docs/tour.md end to end, in headless Chromium against the served demo: seed, a
member's balance in the storefront widget, a redemption whose code Tessera creates in the
stand-in's Admin API, an order using the code, and the redemption in the embedded admin."""
from __future__ import annotations

from urllib.parse import urlencode

from playwright.sync_api import expect
from sqlalchemy import select

from app.devstore import DEMO_SHOP
from app.devstore.catalog import product
from app.devstore.crowd import plan_crowd
from app.devstore.demo import DemoShop
from app.devstore.oauth import host_param
from app.devstore.seed import seed_demo_store
from app.models import Redemption


def reward_redemptions(t) -> list[Redemption]:
    with t.db.scope(read_only=True) as session:
        return session.scalars(select(Redemption).where(Redemption.purpose == "reward")
                               .order_by(Redemption.id)).all()


def test_the_tour_from_seed_to_a_used_code_in_the_admin(browser, served_demo):
    app, url = served_demo
    t = app.extensions["tessera"]
    with app.app_context():
        demo = DemoShop(app)
        seed_demo_store(demo, crowd=plan_crowd(customers=6, guest_orders=1))  # a few regulars: fast
        alice = next(c["id"] for c in demo.snapshot()["customers"].values() if c["email"] == "alice@example.com")
        page = browser.new_page(viewport={"width": 1280, "height": 900})

        page.goto(f"{url}/devstore/storefront?customer={alice}")
        page.get_by_role("button", name="Rewards", exact=True).click()
        dialog = page.get_by_role("dialog", name="Rewards")
        expect(dialog.locator(".tessera-balance")).to_have_text("1,502 points")
        dialog.get_by_role("button", name="Redeem").click()
        dialog.get_by_role("button", name="Confirm").click()
        expect(dialog.locator(".tessera-balance")).to_have_text("1,002 points")
        code = reward_redemptions(t)[-1].code
        assert code in page.eval_on_selector_all(".tessera-panel input", "inputs => inputs.map(i => i.value)")

        discount = next(d for d in demo.snapshot()["discounts"].values() if d["code"] == code)
        assert (discount["customer_ids"], discount["usage_limit"], discount["value"]["amount"]) == ([alice], 1, "5.00")

        demo.checkout("alice@example.com", [(product("merino-beanie"), 1, None)], code=code)
        assert reward_redemptions(t)[-1].status == "used"

        token = page.request.get(f"{url}/devstore/session-token?shop={DEMO_SHOP}").json()["token"]
        query = urlencode({"shop": DEMO_SHOP, "host": host_param(DEMO_SHOP), "embedded": "1", "id_token": token})
        page.goto(f"{url}/members/{alice}?{query}")
        expect(page.locator("body")).to_contain_text(f"Redeemed USD 5 off (code {code})")
        page.close()
