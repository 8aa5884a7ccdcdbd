"""The rewards widget in headless Chromium, on the storefront preview: the extension's real
Liquid and assets, the real App Proxy signature check, Shopify's Admin API stubbed (AdminStub)."""
import re
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.models import Redemption
from tests.support import CUSTOMER_ID, PROJECT_ROOT, payload
from tests.support.ledger import adjust, deliver, member_of, set_program

CODE = re.compile(r"^[A-HJ-NP-Z2-9]{10}$")
AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
IN_PANEL = "document.querySelector('.tessera-panel').contains(document.activeElement)"
# Sum of layout shifts not caused by input (Cumulative Layout Shift), from a buffered observer.
LAYOUT_SHIFT = """() => new Promise((resolve) => {
  let total = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (!entry.hadRecentInput) total += entry.value;
  }).observe({ type: 'layout-shift', buffered: true });
  setTimeout(() => resolve(total), 100);
})"""


@pytest.fixture
def app_settings(app_settings):
    return {**app_settings, "STOREFRONT_PREVIEW": True}


@pytest.fixture(scope="module", autouse=True)
def admin_schema_built():
    """The stub checks each Shopify call against the Admin schema, built once per run (seconds on
    a busy machine): build it before the widget's 5 s expectations start counting."""
    from tests.support.admin_schema import admin_schema
    admin_schema()



@pytest.fixture
def storefront(browser, live_server):
    """open(customer, locale='en', **query): a preview page as a member (customer id) or 'guest'.
    Fails the test on any uncaught script error."""
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"],
                                  viewport={"width": 1280, "height": 900})
    errors: list[str] = []

    def open_page(customer, locale="en", **query):
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{live_server}/devstore/storefront?{urlencode({'customer': customer, 'locale': locale, **query})}")
        return page

    yield open_page
    context.close()
    assert errors == []


def open_panel(page, name="Rewards"):
    page.get_by_role("button", name=name, exact=True).click()
    dialog = page.get_by_role("dialog", name=name)
    expect(dialog).to_be_visible()
    expect(dialog.locator("[aria-busy]")).to_have_count(0)
    return dialog


def preview_calls(app):
    return app.extensions["storefront_preview"].calls


def redemptions(t):
    with t.db.scope(read_only=True) as session:
        return session.scalars(select(Redemption).order_by(Redemption.id)).all()


def axe_violations(page) -> list[dict]:
    if not AXE.is_file():
        pytest.skip("axe-core scan skipped: node_modules/axe-core missing (`make test` installs it)")
    page.add_script_tag(path=str(AXE))
    return page.evaluate("""async () => (await axe.run(document, { resultTypes: ['violations'] })).violations
        .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')) }))""")


def serious(violations):
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def test_a_member_redeems_a_reward_copies_the_code_and_applies_it_to_the_cart(storefront, app, t, shop, stub):
    adjust(t, shop, 600)
    page = storefront(CUSTOMER_ID)
    assert page.evaluate("document.querySelector('.tessera-panel')") is None  # built on first open
    dialog = open_panel(page)
    expect(dialog.locator(".tessera-balance")).to_have_text("700 points")  # 600 + 100 signup at first sign-in
    dialog.get_by_role("button", name="Redeem").click()
    expect(dialog).to_contain_text("Redeem USD 5 off for 500 points?")
    expect(dialog).to_contain_text("Can be combined with shipping discounts; not with other discounts.")
    dialog.get_by_role("button", name="Confirm").click()

    code_box = dialog.get_by_label("Discount code")
    expect(code_box).to_have_value(CODE)
    code = code_box.input_value()
    [redemption] = redemptions(t)
    assert (redemption.code, redemption.status, redemption.points_spent) == (code, "issued", 500)
    expect(dialog.locator(".tessera-balance")).to_have_text("200 points")
    expect(dialog.get_by_role("status")).to_have_text("Your code is ready.")

    copy = dialog.get_by_role("button", name="Copy", exact=True)
    expect(copy).to_be_focused()
    copy.click()
    expect(dialog.get_by_role("button", name="Copied", exact=True)).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == code

    dialog.get_by_role("link", name="Apply to cart").click()
    page.wait_for_url("**/cart")
    expect(page.locator("[data-discount-code]")).to_have_text(code)
    assert {"method": "GET", "path": f"/discount/{code}", "code": code} in preview_calls(app)


def test_when_shopify_is_down_the_shopper_reads_why_and_keeps_the_points(storefront, t, shop, stub):
    adjust(t, shop, 500)
    stub.then(500, 500, 500, 500, 500)
    dialog = open_panel(storefront(CUSTOMER_ID))
    dialog.get_by_role("button", name="Redeem").click()
    confirm = dialog.get_by_role("button", name="Confirm")
    confirm.click()
    expect(dialog.get_by_role("alert")).to_contain_text("500 points are back")
    expect(confirm).to_be_enabled()
    expect(confirm).to_be_focused()
    expect(dialog.locator(".tessera-balance")).to_have_text("600 points")  # with the signup points
    assert [r.status for r in redemptions(t)] == ["failed"]


def test_a_guest_learns_the_program_and_is_invited_to_join_without_layout_shift(storefront, t, shop):
    page = storefront("guest")
    dialog = open_panel(page)
    expect(dialog).to_contain_text("Join our rewards program")
    expect(dialog).to_contain_text("1 point for every $1 spent")
    expect(dialog.get_by_role("link", name="Create an account")).to_have_attribute(
        "href", "/devstore/storefront/login?register=1")
    expect(dialog.get_by_role("link", name="Log in")).to_have_attribute("href", "/devstore/storefront/login")
    expect(dialog.locator(".tessera-item", has_text="USD 5 off")).to_contain_text("500 points")
    expect(dialog.get_by_role("button", name="Redeem")).to_have_count(0)
    expect(dialog.locator(".tessera-balance")).to_have_count(0)
    assert page.evaluate(LAYOUT_SHIFT) == 0


def test_members_and_guests_read_their_language_with_its_plurals(storefront, t, shop):
    set_program(t, shop, {"actions": {"newsletter": {"enabled": True, "points": 20}}})
    adjust(t, shop, 600)
    page = storefront(CUSTOMER_ID, locale="it")
    dialog = open_panel(page, "Premi")
    expect(dialog.locator(".tessera-balance")).to_have_text("700 punti")
    expect(dialog).to_contain_text("Il tuo saldo")
    expect(dialog).to_contain_text("1 punto per ogni $1 speso")
    expect(dialog.get_by_role("button", name="Riscatta")).to_be_enabled()
    expect(dialog.get_by_role("button", name="Chiudi")).to_be_visible()

    polish = open_panel(storefront("guest", locale="pl"), "Nagrody")
    expect(polish.locator(".tessera-item", has_text="Załóż konto")).to_contain_text("+100 punktów")
    expect(polish.locator(".tessera-item", has_text="USD 5 off")).to_contain_text("500 punktów")

    french = open_panel(storefront("guest", locale="fr"), "Récompenses")  # Shopify escapes the apostrophe
    expect(french.locator(".tessera-item", has_text="S'abonner à la newsletter")).to_contain_text("+20 points")


def test_the_panel_works_from_the_keyboard(storefront, t, shop):
    page = storefront("guest")
    launcher = page.get_by_role("button", name="Rewards", exact=True)
    launcher.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Rewards")
    expect(dialog).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(dialog.get_by_role("link", name="Log in")).to_be_visible()
    for _ in range(30):  # more than the panel has controls: the focus wraps around inside it
        page.keyboard.press("Tab")
        assert page.evaluate(IN_PANEL)
    for _ in range(5):
        page.keyboard.press("Shift+Tab")
        assert page.evaluate(IN_PANEL)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(launcher).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "false")


def test_axe_finds_no_serious_accessibility_problem(storefront, client, t, shop, stub):
    set_program(t, shop, {"referrals": {"enabled": True}, "tiers": {"enabled": True}, "actions": {
        "birthday": {"enabled": True, "points": 50},
        "social_follow": {"enabled": True, "points": 25, "networks": {"instagram": "https://instagram.com/maple"}}}})
    deliver(client, t, "orders/paid", payload("orders/paid"))
    adjust(t, shop, 600)
    page = storefront(CUSTOMER_ID)
    dialog = open_panel(page)
    dialog.get_by_role("button", name="Redeem").click()
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog.get_by_label("Discount code")).to_have_value(CODE)
    assert not re.search(r"\b(undefined|null|NaN|true|false)\b|\{\w+\}", dialog.inner_text())  # no raw values
    assert serious(axe_violations(page)) == []

    landing = storefront("guest", page="rewards", ref="NOSUCHCODE")  # the section and the welcome form
    expect(landing.get_by_role("dialog").get_by_label("Email")).to_be_visible()
    expect(landing.locator("section.tessera .tessera-item").first).to_be_visible()
    assert serious(axe_violations(landing)) == []


def test_a_friend_lands_on_a_members_link_gets_the_welcome_code_and_the_cart_is_tagged(
        storefront, live_server, app, client, t, shop, stub):
    set_program(t, shop, {"referrals": {"enabled": True, "referrer_points": 500, "referee_discount_value": "10"}})
    order = payload("orders/paid")
    order["customer"].update(id=111, email="referrer@example.com")
    deliver(client, t, "orders/paid", order)
    referral_code = member_of(t, shop, 111).referral_code

    referrer = open_panel(storefront(111))
    expect(referrer).to_contain_text("Give your friends $10 off and get 500 points")
    link = referrer.get_by_label("Your referral link").input_value()
    assert link == f"{live_server}/devstore/storefront/?ref={referral_code}"
    referrer.get_by_role("button", name="Copy link").click()
    assert referrer.page.evaluate("navigator.clipboard.readText()") == link

    friend = referrer.page.context.new_page()
    friend.goto(f"{link}&customer=guest")
    welcome = friend.get_by_role("dialog", name="Rewards")
    expect(welcome).to_contain_text("A gift from your friend")  # opens by itself on a ?ref= landing
    welcome.get_by_label("Email").fill("friend@example.com")
    welcome.get_by_role("button", name="Get my discount").click()
    expect(welcome.get_by_label("Discount code").first).to_have_value(re.compile(r"^WELCOME-"))
    assert {"method": "POST", "path": "/cart/update.js",
            "body": {"attributes": {"tessera_ref": referral_code}}} in preview_calls(app)

    friend.reload()
    expect(friend.get_by_role("dialog")).to_have_count(0)  # once per visit, not on every page


def test_a_member_claims_a_follow_and_saves_a_birthday(storefront, t, shop):
    set_program(t, shop, {"actions": {"birthday": {"enabled": True, "points": 50}, "social_follow": {
        "enabled": True, "points": 25, "networks": {"instagram": "https://instagram.com/maplepine"}}}})
    adjust(t, shop, 10)
    page = storefront(CUSTOMER_ID)
    page.context.route("https://instagram.com/**", lambda route: route.fulfill(body="Maple & Pine on Instagram"))
    dialog = open_panel(page)
    with page.context.expect_page() as popup:
        dialog.get_by_role("button", name="Follow").click()
    popup.value.wait_for_url("https://instagram.com/maplepine")
    expect(dialog.get_by_role("status")).to_have_text("Thank you! 25 points added.")
    expect(dialog.locator(".tessera-balance")).to_have_text("135 points")
    expect(dialog.locator(".tessera-item", has_text="Follow us on Instagram")).to_contain_text("Done")

    dialog.get_by_label("Your birthday").fill("1990-12-31")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_role("status")).to_have_text("Saved. Your birthday points arrive on the day.")
    expect(dialog.get_by_label("Your birthday")).to_have_count(0)
    assert str(member_of(t, shop).birthday) == "1990-12-31"


def test_the_rewards_page_section_shows_the_member_inline(storefront, t, shop):
    adjust(t, shop, 42)
    page = storefront(CUSTOMER_ID, page="rewards")
    section = page.locator("section.tessera")
    expect(section.locator(".tessera-balance")).to_have_text("142 points")
    expect(section.get_by_role("heading", name="Rewards", exact=True).first).to_be_visible()
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert page.evaluate(LAYOUT_SHIFT) == 0


def test_a_free_product_code_puts_the_product_in_the_cart_and_applies_the_code(storefront, app, t, shop, stub):
    from app.models import Shop
    from app.services.rewards import create_reward
    socks = 44123456789315
    with t.db.scope() as session:
        create_reward(session, session.get(Shop, shop.id), {"name": "Free socks", "kind": "free_product",
                                                             "points_cost": 900, "variant_id": socks})
    stub.variant_prices[socks] = "22.00"
    adjust(t, shop, 1000)
    page = storefront(CUSTOMER_ID)
    dialog = open_panel(page)
    dialog.locator("li", has_text="Free socks").get_by_role("button", name="Redeem").click()
    dialog.get_by_role("button", name="Confirm").click()
    code = dialog.get_by_label("Discount code")
    expect(code).to_have_value(CODE)
    dialog.get_by_role("button", name="Add to cart and apply").click()
    page.wait_for_url("**/cart")
    expect(page.locator(f"[data-cart-item='{socks}']")).to_contain_text("1 x")
    expect(page.locator("[data-discount-code]")).to_have_text(redemptions(t)[0].code)
    paths = [c["path"] for c in preview_calls(app)]
    assert paths.index("/cart/add.js") < paths.index(f"/discount/{redemptions(t)[0].code}")


def test_a_slow_redemption_is_polled_until_the_worker_has_the_code(storefront, app, t, shop, stub):
    import time

    import requests
    t.config["REDEEM_DEADLINE_SECONDS"] = 0.3

    def slow_timeout(_body):
        time.sleep(0.4)
        raise requests.Timeout("read timed out")

    stub.then(slow_timeout)
    adjust(t, shop, 600)
    dialog = open_panel(storefront(CUSTOMER_ID))
    dialog.get_by_role("button", name="Redeem").click()
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog.get_by_role("status")).to_contain_text("still being created")
    assert redemptions(t)[0].status == "pending"
    t.queue.drain(t)  # the worker finishes what the request had no time for
    code_box = dialog.get_by_label("Discount code")
    expect(code_box).to_have_value(CODE, timeout=10_000)
    assert code_box.input_value() == redemptions(t)[0].code and redemptions(t)[0].status == "issued"
