"""The demo store in action: the merchant installs Tessera, shoppers sign up and check out,
orders are refunded, cancelled and shipped, and Shopify tells the app through signed webhooks
to POST /webhooks. Used by `devstore seed`, `devstore trigger`, `devstore reset` and tests.

Every action changes the stand-in's state first (under its lock), then delivers the webhooks
(outside it: the app may call the stand-in back while it processes them), then runs the jobs
the deliveries queued, so each step's effects are in place before the next one.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import Flask

from app.devstore import billing, commerce, payloads
from app.devstore.catalog import DEMO_SHOP, Product
from app.devstore.commerce import Address, DemoStoreError
from app.devstore.delivery import (DeliveryResult, Webhook, addresses, deliver, drop_failing_subscriptions,
                                   log_deliveries)
from app.devstore.graph import iso
from app.devstore.locations import location_id_of
from app.devstore.oauth import install_client_credentials_app, revoke_all
from app.devstore.stand_in import StandIn, credentials
from app.devstore.state import ShopState, next_id
from app.devstore.storefront import Visitor, signed_proxy_query


@dataclass
class Outcome:
    """What an action produced: its record and the webhooks (with their addresses) it fired."""
    record: Any
    webhooks: list[tuple[Webhook, list[str]]] = field(default_factory=list)
    deliveries: list[DeliveryResult] = field(default_factory=list)


class DemoShop:
    def __init__(self, app: Flask, domain: str = DEMO_SHOP):
        self.app = app
        self.t = app.extensions["tessera"]
        self.stand_in: StandIn = app.extensions["devstore"]
        self.domain = domain
        self.app_credentials = credentials(app.config)
        # Deliver every webhook to this URL instead of the subscribed addresses (`trigger --address`).
        self.address_override: str | None = None
        self._jobs_deferred = False

    @property
    def now(self) -> datetime:
        return self.t.clock()

    def snapshot(self) -> ShopState:
        return self.stand_in.state.snapshot(self.domain)

    def withhold_protected_customer_data(self, withheld: bool = True) -> None:
        """As for an app Shopify has not approved for protected customer fields (name, email,
        phone, address): the Admin API answers those fields with ACCESS_DENIED errors."""
        with self.stand_in.state.shop(self.domain) as shop:
            shop["protected_customer_fields"] = "withheld" if withheld else "granted"

    def run_jobs(self) -> None:
        """Run what the deliveries queued (webhook processing, install follow-up) right here."""
        if hasattr(self.t.queue, "drain"):
            self.t.queue.drain(self.t)

    @contextmanager
    def in_batches(self) -> Iterator[None]:
        """Deliveries still go one by one through POST /webhooks into the inbox, but the jobs
        they queue wait for the next `run_jobs` (as a worker catching up would take them), and
        the store's state stays in memory until the block ends. How a year of orders seeds fast."""
        self._jobs_deferred = True
        try:
            with self.stand_in.state.held():
                yield
                self.run_jobs()
        finally:
            self._jobs_deferred = False

    def answer_subscription(self, charge_id: str, *, approved: bool) -> Outcome:
        """The owner approves or declines an app charge on Shopify's confirmation page."""
        return self._act(lambda shop: _decided(billing.decide(shop, charge_id, approved, self.now)))

    # --- plumbing -----------------------------------------------------------------------------
    def _act(self, change: Callable[[ShopState], tuple[Any, list[tuple[str, dict]]]],
             only: Iterable[str] | None = None) -> Outcome:
        """Apply `change` to the store; it returns (record, [(topic, payload)])."""
        event_id, at = str(uuid.uuid4()), self.now
        with self.stand_in.state.shop(self.domain) as shop:
            record, bodies = change(shop)
            wanted = set(only) if only is not None else None
            webhooks = [(Webhook(topic, payload, event_id, at), self._addresses(shop, topic))
                        for topic, payload in bodies if wanted is None or topic in wanted]
        outcome = Outcome(record, webhooks)
        for webhook, targets in webhooks:
            outcome.deliveries += self._deliver(webhook, targets)
        return outcome

    def _addresses(self, shop: ShopState, topic: str) -> list[str]:
        if self.address_override:
            return [self.address_override]
        return addresses(shop, topic, self.app_credentials.app_url)

    def _deliver(self, webhook: Webhook, targets: list[str]) -> list[DeliveryResult]:
        results = deliver(self.t.http, webhook, targets, domain=self.domain,
                          secret=self.app_credentials.api_secret, api_version=self.t.config["SHOPIFY_API_VERSION"])
        with self.stand_in.state.shop(self.domain) as shop:
            log_deliveries(shop, results, self.now)
            drop_failing_subscriptions(shop, results)
        if not self._jobs_deferred:
            self.run_jobs()
        return results

    # --- install ------------------------------------------------------------------------------
    def install(self) -> str:
        """The merchant installs Tessera: the app's OAuth redirect, the (auto-approved) authorize
        page, the signed callback and the token exchange, as in a browser. Returns the URL
        Shopify then opens (the embedded app)."""
        admin_base = self.t.endpoints.shop_url(self.domain, "")
        app_url = self.app_credentials.app_url
        if not admin_base.startswith(f"{app_url}/devstore/shopify/"):
            raise DemoStoreError(f"SHOPIFY_ADMIN_BASE_URL must point at the demo store "
                                 f"({app_url}/devstore/shopify/{{shop}}), not {self.t.endpoints.admin_base_url}")
        browser = self.app.test_client()
        url = f"{app_url}/auth/install?shop={self.domain}"
        for step in ("the app's install redirect", "Shopify's authorize page", "the app's OAuth callback"):
            response = browser.get(url)
            if response.status_code != 302:
                raise DemoStoreError(f"{step} answered {response.status_code}: {response.get_data(as_text=True)[:300]}")
            url = response.headers["Location"]
        self.run_jobs()  # finish_install: shop details and webhook subscriptions, through the Admin API
        return url

    def is_installed(self) -> bool:
        return bool(self.snapshot()["installed"])

    # --- customers ----------------------------------------------------------------------------
    def _customer(self, shop: ShopState, key: str | int) -> dict:
        customer = commerce.find_customer(shop, key)
        if customer is None:
            raise DemoStoreError(f"no customer {key} in the demo store")
        return customer

    def sign_up(self, email: str, first_name: str, last_name: str, *, account: bool = True,
                accepts_marketing: bool = False, address: Address | None = None, phone: str | None = None,
                only: Iterable[str] | None = None) -> Outcome:
        def change(shop):
            customer = commerce.add_customer(shop, email=email, first_name=first_name, last_name=last_name,
                                             account=account, accepts_marketing=accepts_marketing, address=address,
                                             phone=phone, now=self.now)
            return customer, [("customers/create", payloads.customer_payload(shop, customer))]
        return self._act(change, only)

    def limit_token_requests(self, times: int) -> None:
        """The token endpoint answers 429 (Retry-After: 1) the next `times` requests."""
        with self.stand_in.state.shop(self.domain) as shop:
            shop["token_rate_limited"] = times

    def install_dev_dashboard_app(self) -> None:
        """Tessera as a Dev Dashboard app of the store's own organisation, installed from the
        dashboard: no OAuth with Tessera; it gets tokens by the client credentials grant."""
        with self.stand_in.state.shop(self.domain) as shop:
            install_client_credentials_app(shop, self.app_credentials)

    def use_customer_accounts(self, kind: str) -> None:
        """`new` (the default, as for stores created today) or `classic` (invite -> enabled)."""
        if kind not in (commerce.NEW_ACCOUNTS, commerce.CLASSIC_ACCOUNTS):
            raise DemoStoreError(f"customer accounts are 'new' or 'classic', not {kind!r}")
        with self.stand_in.state.shop(self.domain) as shop:
            shop["customer_accounts"] = kind

    def update_customer(self, key: str | int, only: Iterable[str] | None = None, **changes) -> Outcome:
        def change(shop):
            customer = commerce.update_customer(self._customer(shop, key), self.now,
                                                **commerce.account_changes(shop, changes))
            return customer, [("customers/update", payloads.customer_payload(shop, customer))]
        return self._act(change, only)

    def delete_customer(self, key: str | int) -> Outcome:
        def change(shop):
            customer = commerce.delete_customer(shop, self._customer(shop, key))
            return customer, [("customers/delete", payloads.customer_deleted_payload(customer))]
        return self._act(change)

    def request_customer_data(self, key: str | int) -> Outcome:
        def change(shop):
            customer = self._customer(shop, key)
            body = payloads.data_request_payload(shop, customer, next_id(shop, "DataRequest"))
            return customer, [("customers/data_request", body)]
        return self._act(change)

    def redact_customer(self, key: str | int) -> Outcome:
        def change(shop):
            customer = self._customer(shop, key)
            return customer, [("customers/redact", payloads.customer_redact_payload(shop, customer))]
        return self._act(change)

    def change_price(self, product: Product, price: Decimal) -> Outcome:
        """The owner edits a variant's price in the admin (Tessera subscribes to no product topic)."""
        def change(shop):
            shop.setdefault("variant_prices", {})[str(product.variant_id)] = str(price)
            return product, []
        return self._act(change)

    # --- orders -------------------------------------------------------------------------------
    def checkout(self, customer: str | int | None, items: list[tuple[Product, int, Decimal | None]], *,
                 code: str | None = None, attributes: dict[str, str] | None = None, email: str | None = None,
                 only: Iterable[str] | None = None, taxes_included: bool | None = None,
                 location: str | int | None = None) -> Outcome:
        """A paid online order (Shopify fires orders/create, then orders/paid); with `location`
        (a store location's name or id) a POS sale at that store."""
        def change(shop):
            buyer = self._customer(shop, customer) if customer is not None else None
            order = commerce.place_order(shop, customer=buyer, items=items, code=code, attributes=attributes,
                                         email=email, now=self.now, taxes_included=taxes_included,
                                         location_id=location_id_of(shop, location) if location is not None else None)
            body = payloads.order_payload(shop, order)
            return order, [("orders/create", body), ("orders/paid", body)]
        return self._act(change, only)

    def refund(self, order_key: str | int | None, *, amount: Decimal | None = None,
               items: list[tuple[int, int]] | None = None, note: str | None = None,
               only: Iterable[str] | None = None) -> Outcome:
        def change(shop):
            order = commerce.find_order(shop, order_key)
            refund = (commerce.refund_order(shop, order, items=items, now=self.now, note=note) if items else
                      commerce.refund_amount(shop, order, amount or Decimal("0.01"), now=self.now, note=note))
            return refund, [("refunds/create", payloads.refund_payload(shop, order, refund)),
                            ("orders/updated", payloads.order_payload(shop, order))]
        return self._act(change, only)

    def cancel(self, order_key: str | int | None, *, reason: str = "customer",
               only: Iterable[str] | None = None) -> Outcome:
        def change(shop):
            order = commerce.find_order(shop, order_key)
            refund = commerce.cancel_order(shop, order, now=self.now, reason=reason)
            return order, [("orders/cancelled", payloads.order_payload(shop, order)),
                           ("refunds/create", payloads.refund_payload(shop, order, refund))]
        return self._act(change, only)

    def fulfill(self, order_key: str | int | None, only: Iterable[str] | None = None) -> Outcome:
        def change(shop):
            order = commerce.find_order(shop, order_key)
            commerce.fulfill_order(shop, order, now=self.now)
            return order, [("orders/fulfilled", payloads.order_payload(shop, order))]
        return self._act(change, only)

    def refund_items_for_less(self, order_key: str | int | None, items: list[tuple[int, int]], amount: Decimal, *,
                              note: str | None = None) -> Outcome:
        """Items returned but only `amount` given back (Shopify books a refund discrepancy)."""
        def change(shop):
            order = commerce.find_order(shop, order_key)
            refund = commerce.refund_order(shop, order, items=items, now=self.now, note=note, amount=amount)
            return refund, [("refunds/create", payloads.refund_payload(shop, order, refund)),
                            ("orders/updated", payloads.order_payload(shop, order))]
        return self._act(change)

    def refund_money(self, order_key: str | int | None, amount: Decimal, *, note: str | None = None) -> Outcome:
        """Money given back without any item (goodwill)."""
        def change(shop):
            order = commerce.find_order(shop, order_key)
            refund = commerce.refund_money_only(shop, order, amount, now=self.now, note=note)
            return refund, [("refunds/create", payloads.refund_payload(shop, order, refund)),
                            ("orders/updated", payloads.order_payload(shop, order))]
        return self._act(change)

    def edit_order(self, order_key: str | int | None, *, line_quantities: dict[int, int] | None = None,
                   add: list[tuple[Product, int]] | None = None) -> Outcome:
        """The merchant edits an order (lower a line's units, add lines): Shopify fires orders/updated."""
        def change(shop):
            order = commerce.find_order(shop, order_key)
            for line_id, quantity in (line_quantities or {}).items():
                commerce.edit_line_quantity(order, line_id, quantity, now=self.now)
            for product, quantity in add or []:
                commerce.edit_add_line(shop, order, product, quantity, now=self.now)
            return order, [("orders/updated", payloads.order_payload(shop, order))]
        return self._act(change)

    def touch_order(self, order_key: str | int | None) -> Outcome:
        """The merchant edits an order (a note): orders/updated with the order as it stands."""
        def change(shop):
            order = commerce.find_order(shop, order_key)
            order["updated_at"] = iso(self.now)
            return order, [("orders/updated", payloads.order_payload(shop, order))]
        return self._act(change)

    # --- the app's lifecycle ------------------------------------------------------------------
    def uninstall(self) -> Outcome:
        def change(shop):
            return None, [("app/uninstalled", payloads.shop_payload(shop, self.now))]
        outcome = self._act(change)
        with self.stand_in.state.shop(self.domain) as shop:
            revoke_all(shop)
        return outcome

    def redact_shop(self) -> Outcome:
        return self._act(lambda shop: (None, [("shop/redact", payloads.shop_redact_payload(shop))]))

    # --- the storefront -----------------------------------------------------------------------
    def proxy(self, method: str, path: str, customer_id: int | None, body: dict | None = None) -> tuple[int, Any]:
        """A storefront call through the App Proxy, signed as Shopify signs it. It sees every
        webhook delivered before it: their jobs run first (inside `in_batches`, at the next catch-up)."""
        if not self._jobs_deferred:
            self.run_jobs()
        query = signed_proxy_query([], Visitor(shop=self.domain, customer_id=customer_id),
                                   self.app_credentials.api_secret)
        response = self.app.test_client().open(f"/proxy/{path}?{query}", method=method,
                                               data=json.dumps(body or {}), content_type="application/json")
        return response.status_code, response.get_json(silent=True)


def _decided(decision: tuple[dict, list[dict]]) -> tuple[dict, list[tuple[str, dict]]]:
    record, payloads_ = decision
    return record, [("app_subscriptions/update", body) for body in payloads_]
