"""The pooled programs in the widget, in headless Chromium on the storefront preview (real
Liquid, assets and App Proxy signatures; Shopify's Admin API stubbed): from real-shaped order
webhooks to what the member reads, keyboard and screen-reader checks included."""
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.models import Member
from app.services.cashback import pay_due_cashback
from tests.pooled.test_paid_membership import CLUB, club_order
from tests.storefront.test_widget_browser import (admin_schema_built, app_settings, axe_violations,  # noqa: F401
                                                  open_panel, serious, storefront)
from tests.support import CUSTOMER_ID
from tests.support.ledger import adjust, deliver, set_program

BOB = 7412583020572


def name_member(t, shop, customer_id, first, last):
    adjust(t, shop, 1, customer_id)
    with t.db.scope() as session:
        member = session.scalar(select(Member).where(Member.shop_id == shop.id, Member.customer_id == customer_id))
        member.first_name, member.last_name = first, last
        session.commit()


@pytest.fixture
def pooled_shop(client, t, shop, stub):
    set_program(t, shop, {"households": {"enabled": True}, "membership": CLUB,
                          "cashback": {"enabled": True, "percent": "5"}})
    name_member(t, shop, CUSTOMER_ID, "Alice", "Martin")
    name_member(t, shop, BOB, "Bob", "Nguyen")
    deliver(client, t, "orders/paid", club_order())
    pay_due_cashback(t.db.scope, t.shopify, t.clock())
    return shop


def test_a_member_sees_membership_and_cashback_and_invites_family_who_join_from_the_link(storefront, t,
                                                                                          pooled_shop):
    dialog = open_panel(storefront(CUSTOMER_ID))
    expect(dialog).to_contain_text("VIP Club member until")
    expect(dialog).to_contain_text("Cashback")
    expect(dialog).to_contain_text("Order #1042")
    expect(dialog).to_contain_text("Paid as store credit")

    email = dialog.get_by_label("Email address to invite")
    email.fill("bob@example.com")
    email.press("Enter")  # the form submits from the keyboard
    expect(dialog.get_by_role("status")).to_have_text("Invitation created. Share the link below.")
    link = dialog.get_by_label("Invitation link").input_value()
    token = parse_qs(urlparse(link).query)["tessera_household"][0]
    expect(dialog).to_contain_text("Alice M.")

    bob = open_panel(storefront(BOB, tessera_household=token))
    bob.get_by_role("button", name="Join this household").click()
    expect(bob.get_by_role("status")).to_have_text("You joined the household.")
    expect(bob.locator("li", has_text="Alice M.")).to_be_visible()
    expect(bob.locator("li", has_text="Bob N.")).to_be_visible()
    expect(bob).to_contain_text("Pooled balance:")
    assert "alice" not in bob.inner_text().lower().replace("alice m.", "")

    bob.get_by_role("button", name="Leave the household").click()
    expect(bob.get_by_role("status")).to_have_text("You left the household. Your points stay with you.")


def test_the_pooled_sections_read_in_the_shoppers_language(storefront, t, pooled_shop):
    dialog = open_panel(storefront(CUSTOMER_ID, locale="de"), "Prämien")
    expect(dialog).to_contain_text("VIP Club-Mitglied bis")
    expect(dialog).to_contain_text("Haushalt")
    expect(dialog.get_by_label("E-Mail-Adresse der eingeladenen Person")).to_be_visible()


def test_axe_finds_no_serious_problem_in_the_pooled_sections(storefront, t, pooled_shop):
    page = storefront(CUSTOMER_ID)
    dialog = open_panel(page)
    expect(dialog).to_contain_text("Household")
    assert serious(axe_violations(page)) == []
