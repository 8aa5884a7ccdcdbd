"""`flask --app wsgi devstore ...`: seed, trigger and reset the demo store (DEVSTORE=1).

The commands need no running server: they drive a copy of the app without the background
worker, reach APP_URL in-process (the stand-in's endpoints and POST /webhooks), and run the
queued jobs before they return, so their effects are visible at once. With a server running
(`make run`) both share the database and the demo store's state file.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.devstore.catalog import DEMO_SHOP, product
from app.devstore.commerce import DemoStoreError, find_customer
from app.devstore.demo import DemoShop, Outcome
from app.devstore.schema import AdminSchemaMissing
from app.devstore.transport import mount_in_process

TOPICS = ("orders/create", "orders/paid", "orders/updated", "orders/fulfilled", "orders/cancelled",
          "refunds/create", "customers/create", "customers/update", "customers/delete", "app/uninstalled",
          "customers/data_request", "customers/redact", "shop/redact")


@click.group("devstore", cls=AppGroup, help="The local demo store: a stand-in for Shopify (OAuth, Admin API, "
                                            "webhooks) for `make run` and tests. Needs DEVSTORE=1.")
def devstore_group() -> None:
    pass


def _foreground_app() -> Flask:
    """The current app, or a copy of it without the in-process worker (which would start on
    the first request and run jobs behind the command's back)."""
    if not current_app.config.get("INPROCESS_WORKER"):
        return current_app._get_current_object()
    from app import create_app
    return create_app({**current_app.config, "INPROCESS_WORKER": False})


@contextmanager
def demo_shop(*, needs_admin_api: bool = False) -> Iterator[DemoShop]:
    app = _foreground_app()
    if needs_admin_api:
        try:
            app.extensions["devstore"].schema()  # fail first, and clearly, if the Admin schema is missing
        except AdminSchemaMissing as exc:
            raise click.ClickException(str(exc)) from exc
    tessera = app.extensions["tessera"]
    mount_in_process(tessera.http, app, tessera.app_url)
    with app.app_context():
        try:
            yield DemoShop(app)
        except DemoStoreError as exc:
            raise click.ClickException(str(exc)) from exc


def demo_urls(demo: DemoShop) -> list[tuple[str, str]]:
    base, shop = demo.app_credentials.app_url, demo.snapshot()
    urls = [("Storefront preview", f"{base}/devstore/storefront?customer=guest")]
    member = find_customer(shop, "alice@example.com")
    if member:
        urls.append(("  ... as a member", f"{base}/devstore/storefront?customer={member['id']}   "
                                          f"({member['first_name']} {member['last_name']})"))
    admin = f"{base}/devstore/shopify/{demo.domain}/admin/apps/{demo.app_credentials.api_key}"
    return urls + [("Admin", admin), ("Webhook inbox", f"{admin}/activity"), ("Demo store", f"{base}/devstore/")]


def echo_urls(demo: DemoShop) -> None:
    click.echo(f"\n  Demo store {demo.domain}:")
    for label, url in demo_urls(demo):
        click.echo(f"    {label:20} {url}")
    click.echo("")


@devstore_group.command("seed", help="Install Tessera on demo-store.myshopify.com through OAuth, then play a year "
                                     "of customers and orders into it as signed webhooks (the same shop every time). "
                                     "Does nothing if already seeded (see `reset`).")
@click.option("--customers", type=click.IntRange(min=0), default=None,
              help="Regular customers besides the seven named shoppers (default 293: 300 in all); fewer seed faster.")
def seed_command(customers: int | None) -> None:
    from app.devstore.crowd import CROWD_CUSTOMERS, GUEST_ORDERS, plan_crowd
    from app.devstore.seed import seed_demo_store
    crowd = None if customers is None else plan_crowd(customers, GUEST_ORDERS * customers // CROWD_CUSTOMERS)
    with demo_shop(needs_admin_api=True) as demo:
        report = seed_demo_store(demo, echo=click.echo, crowd=crowd)
        for note in report.notes:
            click.echo(f"Note: {note}")
        if report.seeded_now:
            snapshot = demo.snapshot()
            click.echo(f"Seeded: {len(snapshot['customers'])} customers, {len(snapshot['orders'])} orders, "
                       f"{report.deliveries} webhooks delivered ({len(report.failed_deliveries)} failed).")
        for failure in report.failed_deliveries:
            click.echo(f"  failed: {failure}", err=True)
        echo_urls(demo)


@devstore_group.command("customer-accounts", help="Which customer accounts the demo store uses: `new` (the default, "
                                                  "as for every store created today: state stays disabled, signup "
                                                  "points at the first signed-in widget load) or `classic` (an "
                                                  "accepted invitation makes the account enabled).")
@click.argument("kind", type=click.Choice(["new", "classic"]))
def customer_accounts_command(kind: str) -> None:
    with demo_shop() as demo:
        demo.use_customer_accounts(kind)
    click.echo(f"{DEMO_SHOP} now uses {kind} customer accounts for new customers.")


@devstore_group.command("reset", help="Uninstall Tessera from the demo store (app/uninstalled, then shop/redact, "
                                      "as Shopify sends them), and forget the demo store's data. `seed` starts over.")
def reset_command() -> None:
    from app.devstore.seed import reset_demo_store
    with demo_shop() as demo:
        reset_demo_store(demo)
    click.echo(f"{DEMO_SHOP} is empty and Tessera's data for it erased; "
               "run `flask --app wsgi devstore seed` to start over.")


def _money(value: str | None, option: str) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise click.BadParameter("use an amount like 54.00", param_hint=option) from None
    if amount <= 0:
        raise click.BadParameter("must be more than 0", param_hint=option)
    return amount


def _checkout(demo: DemoShop, topic: str, customer: str | None, total: Decimal | None, code: str | None,
              ref: str | None, location: str | None = None) -> Outcome:
    buyer = None if customer in (None, "guest") else customer
    if buyer and "@" in buyer and find_customer(demo.snapshot(), buyer) is None:
        name = buyer.split("@")[0].replace(".", " ").title().split(" ")
        demo.sign_up(buyer, name[0], " ".join(name[1:]), account=False, only=())  # a new customer at checkout
        click.echo(f"(new customer {buyer} created at checkout)")
    items = [(product("curated-gift-box"), 1, total)] if total else [(product("trailhead-hoodie"), 1, None)]
    return demo.checkout(buyer, items, code=code, attributes={"tessera_ref": ref} if ref else None,
                         email="guest@example.com" if buyer is None else None, only=[topic], location=location)


def _customer_changes(first_name: str | None, last_name: str | None) -> dict:
    # The customer accepted the account invitation (classic accounts; new accounts ignore it).
    changes = {"state": "enabled"}
    if first_name:
        changes["first_name"] = first_name
    if last_name:
        changes["last_name"] = last_name
    return changes


def _trigger(demo: DemoShop, topic: str, o: dict) -> Outcome:
    if topic in ("orders/create", "orders/paid"):
        return _checkout(demo, topic, o["customer"], o["total"], o["code"], o["ref"], o["location"])
    actions = {
        "orders/updated": lambda: demo.touch_order(o["order"]),
        "orders/fulfilled": lambda: demo.fulfill(o["order"], only=[topic]),
        "orders/cancelled": lambda: demo.cancel(o["order"], only=[topic]),
        "refunds/create": lambda: demo.refund(o["order"], amount=o["amount"], only=[topic]),
        "customers/create": lambda: demo.sign_up(_required(o["customer"]), o["first_name"] or "Demo",
                                                 o["last_name"] or "Customer", account=not o["no_account"]),
        "customers/update": lambda: demo.update_customer(_required(o["customer"]),
                                                         **_customer_changes(o["first_name"], o["last_name"])),
        "customers/delete": lambda: demo.delete_customer(_required(o["customer"])),
        "customers/data_request": lambda: demo.request_customer_data(_required(o["customer"])),
        "customers/redact": lambda: demo.redact_customer(_required(o["customer"])),
        "app/uninstalled": demo.uninstall,
        "shop/redact": demo.redact_shop,
    }
    return actions[topic]()


def _required(customer: str | None) -> str:
    if not customer:
        raise click.UsageError("this topic needs --customer EMAIL (or customer id)")
    return customer


def _describe(outcome: Outcome) -> str:
    record = outcome.record or {}
    if "order_name" in record:
        return f"refund of {record['amount']} on order {record['order_name']}"
    if "lines" in record:
        return f"order {record['name']} ({record['email'] or 'guest'})"
    if "email" in record:
        return f"customer {record['email']} (id {record['id']})"
    return DEMO_SHOP


def _echo_balance(demo: DemoShop, outcome: Outcome) -> None:
    """The customer's balance as the storefront widget would now show it."""
    record = outcome.record or {}
    customer_id = record.get("customer_id") or (record.get("id") if "email" in record and "lines" not in record
                                                else None)
    if not customer_id or str(customer_id) not in demo.snapshot()["customers"]:
        return
    status, body = demo.proxy("GET", "member", customer_id)
    if status == 200 and body:
        tier = body.get("tier")
        tier_name = tier.get("name") if isinstance(tier, dict) else tier
        click.echo(f"customer {customer_id}: {body['balance']} points" + (f", {tier_name}" if tier_name else ""))


@devstore_group.command("trigger", help=f"Make something happen in the demo store and deliver that topic's signed "
                                        f"webhook, like `shopify app webhook trigger`. Topics: {', '.join(TOPICS)}.")
@click.argument("topic", type=click.Choice(TOPICS))
@click.option("--customer", help="E-mail or id of the customer (orders: omit or 'guest' for a guest checkout; an "
                                 "unknown e-mail becomes a new customer).")
@click.option("--total", help="Orders: merchandise price before tax and shipping, e.g. 54.00 (default: one "
                              "Trailhead Hoodie).")
@click.option("--code", help="Orders: a discount code used at checkout (checked as Shopify's checkout would).")
@click.option("--ref", help="Orders: a referral code, set as the cart attribute tessera_ref.")
@click.option("--location", help="Orders: a POS sale at this store location (name or id: 'Main Street store', "
                                 "'Harbour pop-up').")
@click.option("--order", help="Order name (#1004) or id for updated/fulfilled/cancelled/refunds (default: newest).")
@click.option("--amount", help="refunds/create: refund whole units until this much is returned (default: one unit).")
@click.option("--first-name", help="customers/create and customers/update.")
@click.option("--last-name", help="customers/create and customers/update.")
@click.option("--no-account", is_flag=True, help="customers/create: a customer without an account (state disabled).")
@click.option("--address", help="Deliver to this URL instead of the app's subscriptions (remote delivery; jobs run "
                                "in that server).")
def trigger_command(topic: str, address: str | None, **options) -> None:
    options["total"] = _money(options["total"], "--total")
    options["amount"] = _money(options["amount"], "--amount")
    with demo_shop() as demo:
        demo.address_override = address
        outcome = _trigger(demo, topic, options)
        click.echo(f"{topic}: {_describe(outcome)}")
        for delivery in outcome.deliveries:
            click.echo(f"  -> {delivery.address}: {delivery.status or delivery.error}"
                       + ("" if delivery.ok else f" {delivery.error or ''}"))
        if not outcome.deliveries:
            click.echo("  (no delivery: Tessera is not installed or not subscribed to this topic)")
        if address is None:
            _echo_balance(demo, outcome)
    if topic == "app/uninstalled":
        click.echo("Tessera is uninstalled from the demo store; `devstore seed` installs it again.")
