"""The games and giving sections of the widget in headless Chromium, from a real-shaped order
webhook to the shopper's clicks and keys: badges, a challenge, feedback, leaderboard, donation."""
import pytest
from playwright.sync_api import expect

from tests.storefront.test_widget_browser import (admin_schema_built, app_settings, axe_violations,  # noqa: F401
                                                  open_panel, serious, storefront)
from tests.support import CUSTOMER_ID, payload
from tests.support.ledger import balance, deliver, ledger, set_program

GAMES = {
    "badges": {"enabled": True, "rules": [
        {"key": "first-order", "name": "First order", "action": "orders", "count": 1, "bonus_points": 0},
        {"key": "five-orders", "name": "Regular", "action": "orders", "count": 5, "bonus_points": 100}]},
    "challenges": {"enabled": True, "challenges": [
        {"key": "three", "name": "Three in a month", "kind": "orders", "goal": 3, "days": 30, "reward_points": 300}]},
    "leaderboard": {"enabled": True},
    "feedback": {"enabled": True, "points": 25},
    "charity": {"enabled": True, "points_per_unit": 100, "matching_percent": "50", "min_points": 100,
                "causes": [{"key": "trees", "name": "Plant trees", "description": "A tree for every dollar"}]},
}


@pytest.fixture
def member_with_an_order(client, t, shop):
    set_program(t, shop, GAMES)
    deliver(client, t, "orders/paid", payload("orders/paid"))


def test_member_sees_badges_and_challenge_progress_and_answers_feedback_by_keyboard(
        storefront, t, shop, stub, member_with_an_order):
    page = storefront(CUSTOMER_ID)
    dialog = open_panel(page)
    expect(dialog.get_by_role("heading", name="Badges")).to_be_visible()
    expect(dialog).to_contain_text("First order")
    expect(dialog.get_by_role("progressbar", name="1 of 5")).to_be_visible()  # next badge: Regular
    expect(dialog.get_by_role("progressbar", name="1 of 3")).to_be_visible()  # the challenge

    nps = dialog.get_by_role("group", name="How likely are you to recommend us")
    nps.get_by_role("radio", name="9", exact=True).focus()
    page.keyboard.press("Space")
    nps.get_by_role("radio", name="9", exact=True).press("ArrowRight")  # arrow keys move within the scale
    expect(nps.get_by_role("radio", name="10", exact=True)).to_be_checked()
    dialog.get_by_role("group", name="How satisfied are you").get_by_role("radio", name="4", exact=True).check()
    dialog.get_by_label("Anything else you want to tell us? (optional)").fill("Lovely packaging")
    dialog.get_by_role("button", name="Send answers").click()
    expect(dialog.get_by_role("status")).to_have_text("Thank you for your feedback!")
    expect(dialog.get_by_text("Thank you for your feedback!", exact=True).first).to_be_focused()
    assert [p for k, p in ledger(t, shop) if k.endswith(":feedback")] == [25]
    assert serious(axe_violations(page)) == []


def test_member_opts_in_to_the_leaderboard_and_donates_points(storefront, t, shop, stub, member_with_an_order):
    page = storefront(CUSTOMER_ID)
    dialog = open_panel(page)
    expect(dialog.get_by_text("Nobody is on the leaderboard yet this month.")).to_be_visible()
    dialog.get_by_label("Show me on the leaderboard").check()
    expect(dialog.get_by_role("list").filter(has_text="Jordan L.")).to_be_visible()
    expect(dialog).to_contain_text("You are number 1 with")
    expect(dialog.get_by_label("Show me on the leaderboard")).to_be_focused()

    before = balance(t, shop).balance
    expect(dialog).to_contain_text("The store adds 50% on top.")
    dialog.get_by_label("Points to give").fill("200")
    dialog.get_by_role("button", name="Donate points").click()
    expect(dialog.get_by_role("status")).to_have_text("Thank you for your donation!")
    assert balance(t, shop).balance == before - 200
    dialog.get_by_label("Points to give").fill("999999")
    dialog.get_by_role("button", name="Donate points").click()
    expect(dialog.get_by_role("alert").filter(has_text="points to give")).to_be_visible()
    assert balance(t, shop).balance == before - 200
