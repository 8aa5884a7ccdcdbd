"""`flask devstore seed | trigger | reset`, as a developer types them."""
from __future__ import annotations

import pytest

from app.devstore import DEMO_SHOP
from app.queries.member_state import member_state
from app.services.shops import find_shop


@pytest.fixture
def flask(app):
    runner = app.test_cli_runner()

    def run(*args: str):
        return runner.invoke(args=["devstore", *args])
    return run


@pytest.fixture
def alice(demo, installed):
    return demo.sign_up("alice@example.com", "Alice", "Martin").record


def balance(t, customer_id: int) -> int:
    with t.db.scope(read_only=True) as session:
        return member_state(session, find_shop(session, DEMO_SHOP), customer_id, now=t.clock())["balance"]


def test_devstore_help_lists_seed_trigger_and_reset(flask):
    result = flask("--help")
    assert result.exit_code == 0
    assert {"seed", "trigger", "reset"} <= set(result.output.split())


def test_trigger_orders_paid_delivers_a_signed_webhook_that_earns_points(flask, t, alice):
    result = flask("trigger", "orders/paid", "--customer", "alice@example.com", "--total", "54.00")
    assert result.exit_code == 0, result.output
    assert "orders/paid: order #1001 (alice@example.com)" in result.output
    assert f"-> {t.app_url}/webhooks: 200" in result.output
    assert balance(t, alice["id"]) == 100 + 54
    assert f"customer {alice['id']}: 154 points" in result.output


def test_trigger_orders_paid_at_a_location_is_a_pos_sale_named_in_the_history(flask, t, demo, alice):
    result = flask("trigger", "orders/paid", "--customer", "alice@example.com", "--total", "54.00",
                   "--location", "Harbour pop-up")
    assert result.exit_code == 0, result.output
    order = max(demo.snapshot()["orders"].values(), key=lambda o: o["id"])
    assert (order["source_name"], order["location_id"]) == ("pos", 70011223345)
    assert balance(t, alice["id"]) == 100 + 54
    status, body = demo.proxy("GET", "member", alice["id"])
    assert any(a["reason"].endswith("(in store at Harbour pop-up)") for a in body["recent_activity"]), body


def test_trigger_refunds_create_takes_back_the_refunded_share(flask, t, demo, alice):
    flask("trigger", "orders/paid", "--customer", "alice@example.com", "--total", "54.00")
    result = flask("trigger", "refunds/create", "--order", "#1001", "--amount", "54.00")
    assert result.exit_code == 0, result.output
    assert "refund of 58.32 on order #1001" in result.output  # 54.00 + 8% tax
    assert balance(t, alice["id"]) == 100


def test_trigger_refuses_a_code_the_checkout_would_refuse(flask, alice):
    result = flask("trigger", "orders/paid", "--customer", "alice@example.com", "--code", "NOPE-123")
    assert result.exit_code == 1
    assert "checkout refused the code" in result.output and "NOPE-123" in result.output


def test_trigger_customers_create_without_an_install_delivers_nothing(flask):
    result = flask("trigger", "customers/create", "--customer", "zoe@example.com")
    assert result.exit_code == 0, result.output
    assert "no delivery" in result.output


def test_seed_prints_the_demo_urls_and_reset_starts_over(flask, t):
    seeded = flask("seed", "--customers", "0")
    reset = flask("reset")
    assert seeded.exit_code == 0, seeded.output
    assert "Seeded: 7 customers, 17 orders" in seeded.output
    admin = f"{t.app_url}/devstore/shopify/{DEMO_SHOP}/admin/apps/{t.api_key}"
    for url in (f"{t.app_url}/devstore/storefront?customer=guest", f"{admin}\n", f"{admin}/activity\n"):
        assert url in seeded.output
    assert reset.exit_code == 0, reset.output
    with t.db.scope(read_only=True) as session:
        assert not find_shop(session, DEMO_SHOP).is_installed
