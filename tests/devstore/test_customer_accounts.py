"""The stand-in's customers have new-customer-account shapes (state stays disabled) unless the
shop is switched to classic accounts; signup points arrive either way, once."""
import pytest

from app.devstore.commerce import DemoStoreError


def signed_in_balance(demo, customer_id) -> int:
    status, body = demo.proxy("GET", "member", customer_id)
    assert status == 200, body
    return body["balance"]


def test_a_new_account_customer_stays_disabled_and_earns_signup_at_first_sign_in(demo, installed, t):
    customer = demo.sign_up("ana@example.com", "Ana", "Silva").record
    demo.run_jobs()
    assert customer["state"] == "disabled"
    demo.update_customer(customer["id"], state="enabled")  # no invitation to accept: state does not move
    assert demo.snapshot()["customers"][str(customer["id"])]["state"] == "disabled"
    assert signed_in_balance(demo, customer["id"]) == 100
    assert signed_in_balance(demo, customer["id"]) == 100


def test_classic_accounts_enable_on_invitation_and_pay_signup_once(demo, installed, t):
    demo.use_customer_accounts("classic")
    customer = demo.sign_up("bo@example.com", "Bo", "Lind").record
    demo.run_jobs()
    assert customer["state"] == "enabled"
    assert signed_in_balance(demo, customer["id"]) == 100


def test_a_signed_in_customer_unknown_to_tessera_is_looked_up_and_enrolled(demo, installed, t):
    customer = demo.sign_up("cy@example.com", "Cy", "Moss", only=()).record  # webhook never delivered
    assert signed_in_balance(demo, customer["id"]) == 100


def test_customer_accounts_are_new_or_classic(demo):
    with pytest.raises(DemoStoreError):
        demo.use_customer_accounts("legacy")


def test_the_devstore_command_switches_the_demo_store_to_classic_accounts(app, demo, installed):
    result = app.test_cli_runner().invoke(args=["devstore", "customer-accounts", "classic"])
    assert result.exit_code == 0, result.output
    assert demo.sign_up("di@example.com", "Di", "Park").record["state"] == "enabled"
