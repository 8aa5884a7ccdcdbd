"""A year of a small outdoor-gear shop, played into the demo store.

The merchant installs Tessera through OAuth and turns on VIP tiers and referrals (the rest of
the program is the default: 1 point per $1, 100 points for an account). Then, day by day, the
named shoppers below (four months of a story the tests and the tour rely on) and about three
hundred regulars and guests (`crowd.py`) sign up, order, return things, cancel, refer friends
and redeem rewards. Every step reaches Tessera only as signed webhooks to POST /webhooks, and
the storefront steps as signed App Proxy calls; the jobs the deliveries queue run once per story
day, as a worker catching up would. Tessera's clock follows the story, so its ledger, inbox and
analytics carry the dates the events happened on.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.devstore.catalog import product
from app.devstore.commerce import Address, DemoStoreError, find_order
from app.devstore.crowd import CrowdPlan, CrowdStep, plan_crowd
from app.devstore.demo import DemoShop
from app.devstore.graph import iso
from app.devstore.oauth import DEMO_STAFF_USER_ID


@dataclass(frozen=True)
class Shopper:
    email: str
    first_name: str
    last_name: str
    account: bool
    address: Address
    accepts_marketing: bool = False


SHOPPERS = {s.first_name.lower(): s for s in (
    Shopper("alice@example.com", "Alice", "Martin", True, Address("2217 NE Alberta St", "Portland", "Oregon", "OR",
                                                                  "97211", "+1 503-555-0142"), accepts_marketing=True),
    Shopper("bob@example.com", "Bob", "Chen", True, Address("410 Pine St", "Seattle", "Washington", "WA", "98101")),
    Shopper("carol@example.com", "Carol", "Diaz", True, Address("1100 Congress Ave", "Austin", "Texas", "TX", "78701")),
    Shopper("dave@example.com", "Dave", "Okafor", False, Address("233 S Wacker Dr", "Chicago", "Illinois", "IL",
                                                                 "60606")),
    Shopper("erin@example.com", "Erin", "Walsh", True, Address("75 State St", "Boston", "Massachusetts", "MA",
                                                               "02109")),
    Shopper("frank@example.com", "Frank", "Novak", True, Address("1701 Wynkoop St", "Denver", "Colorado", "CO",
                                                                 "80202")),
    Shopper("grace@example.com", "Grace", "Kim", True, Address("600 W Broadway", "San Diego", "California", "CA",
                                                               "92101")),
)}


@dataclass
class SeedReport:
    installed_now: bool = False
    seeded_now: bool = False
    orders: dict[str, str] = field(default_factory=dict)  # story label -> order name
    deliveries: int = 0
    failed_deliveries: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class _Story:
    """The steps, with the small memory they need (order names, alice's referral code)."""

    def __init__(self, demo: DemoShop, report: SeedReport):
        self.demo = demo
        self.report = report
        self.customer_ids: dict[str, int] = {}  # e-mail -> Shopify customer id
        self._cheapest_reward: dict | None = None

    def _count(self, outcome) -> None:
        self.report.deliveries += len(outcome.deliveries)
        self.report.failed_deliveries += [f"{d.topic} -> {d.address}: {d.status or d.error}"
                                          for d in outcome.deliveries if not d.ok]

    def sign_up(self, who: str | Shopper) -> None:
        s = SHOPPERS[who] if isinstance(who, str) else who
        outcome = self.demo.sign_up(s.email, s.first_name, s.last_name, account=s.account, address=s.address,
                                    accepts_marketing=s.accepts_marketing, phone=s.address.phone)
        self.customer_ids[s.email] = outcome.record["id"]
        self._count(outcome)
        if s.account:  # new customer accounts: signup points arrive when the shopper first signs in
            self.demo.proxy("GET", "member", outcome.record["id"])

    def order(self, who: str | None, label: str, *handles: str, code: str | None = None,
              attributes: dict[str, str] | None = None) -> None:
        self.checkout(SHOPPERS[who].email if who else None, label, [(h, 1) for h in handles], code=code,
                      attributes=attributes)

    def checkout(self, email: str | None, label: str, items: list[tuple[str, int]] | tuple, *,
                 code: str | None = None, attributes: dict[str, str] | None = None,
                 guest_email: str = "pat.guest@example.com") -> None:
        outcome = self.demo.checkout(email, [(product(h), quantity, None) for h, quantity in items], code=code,
                                     attributes=attributes, email=None if email else guest_email)
        self.report.orders[label] = outcome.record["name"]
        self._count(outcome)

    def refund(self, label: str, handle: str, note: str) -> None:
        order = find_order(self.demo.snapshot(), self.report.orders[label])
        line = next(li for li in order["lines"] if li["handle"] == handle)
        self._count(self.demo.refund(order["name"], items=[(line["id"], 1)], note=note))

    def cancel(self, label: str) -> None:
        self._count(self.demo.cancel(self.report.orders[label]))

    def fulfill(self, label: str) -> None:
        self._count(self.demo.fulfill(self.report.orders[label]))

    def customer_id(self, who: str) -> int:
        return self.customer_ids[SHOPPERS[who].email if who in SHOPPERS else who]

    def referral_code(self, who: str) -> str:
        """What the widget shows the member as their referral link (GET /apps/tessera/member)."""
        status, body = self.demo.proxy("GET", "member", self.customer_id(who))
        if status != 200 or not (body or {}).get("referral_code"):
            raise DemoStoreError(f"the App Proxy gave no referral code for {who} ({status}: {body})")
        return body["referral_code"]

    def cheapest_reward(self, customer_id: int) -> dict:
        if self._cheapest_reward is None:  # the program does not change while the story plays
            _, program = self.demo.proxy("GET", "program", customer_id)
            self._cheapest_reward = min(program["rewards"], key=lambda r: r["points_cost"])
        return self._cheapest_reward

    def redeem_cheapest_reward(self, who: str, attempt: str = "1") -> str:
        """The member redeems in the widget (POST /apps/tessera/redeem); returns the code."""
        customer_id = self.customer_id(who)
        reward = self.cheapest_reward(customer_id)
        status, body = self.demo.proxy("POST", "redeem", customer_id,
                                       {"reward_id": reward["id"], "idempotency_key": f"demo-seed-{who}-{attempt}"})
        if status != 200:
            raise DemoStoreError(f"redeeming {reward['name']} for {who} failed ({status}: {body})")
        return body["code"]

    def redeem_if_affordable(self, email: str, attempt: str) -> str | None:
        """A regular redeems when the widget shows enough points, as shoppers do."""
        customer_id = self.customer_id(email)
        _, member = self.demo.proxy("GET", "member", customer_id)
        if (member or {}).get("balance", 0) < self.cheapest_reward(customer_id)["points_cost"]:
            return None
        return self.redeem_cheapest_reward(email, attempt)

    def play_crowd_step(self, step: CrowdStep) -> None:
        customer = step.customer
        if step.kind == "sign_up":
            self.sign_up(Shopper(customer.email, customer.first_name, customer.last_name, customer.account,
                                 customer.address, customer.accepts_marketing))
        elif step.kind == "order":
            self._crowd_order(step)
        elif step.kind == "refund":
            self.refund(step.order_label, step.items[0][0], "Returned: did not fit")
        else:
            self.cancel(step.order_label)

    def _crowd_order(self, step: CrowdStep) -> None:
        email = step.customer.email if step.customer else None
        code = self.redeem_if_affordable(email, step.order_label) if step.redeem_first else None
        referrer = step.referred_by
        attributes = {"tessera_ref": self.referral_code(referrer.email)} if referrer else None
        self.checkout(email, step.order_label, step.items, code=code, attributes=attributes,
                      guest_email=step.guest_email or "pat.guest@example.com")

    def refer(self, referrer: str, referee: str, label: str, *handles: str) -> None:
        """The referee arrives through the referrer's link; the widget sets the cart attribute."""
        code = self.referral_code(referrer)
        self.sign_up(referee)
        self.order(referee, label, *handles, attributes={"tessera_ref": code})

    def redeem_and_use(self, who: str, label: str, *handles: str) -> None:
        self.order(who, label, *handles, code=self.redeem_cheapest_reward(who))


# (days before today, step). Prices: hoodie 68, rain shell 148, beanie 28, socks 22, mug 18,
# tote 42, gift card 50; 8% tax; shipping 6.95 under $75.
TIMELINE: list[tuple[int, Callable[[_Story], None]]] = [
    (118, lambda s: s.sign_up("alice")),
    (117, lambda s: s.order("alice", "alice-1", "trailhead-hoodie", "enamel-camp-mug", "enamel-camp-mug")),
    (115, lambda s: s.fulfill("alice-1")),
    (110, lambda s: s.sign_up("carol")),
    (109, lambda s: s.order("carol", "carol-1", "ridgeline-rain-shell", "merino-beanie")),
    (104, lambda s: s.sign_up("dave")),
    (104, lambda s: s.order("dave", "dave-1", "waxed-canvas-tote", "trail-socks")),
    (98, lambda s: s.order("alice", "alice-2", "ridgeline-rain-shell")),
    (92, lambda s: s.sign_up("erin")),
    (91, lambda s: s.order("erin", "erin-1", "ridgeline-rain-shell", "trailhead-hoodie", "waxed-canvas-tote",
                           "trail-socks")),
    (85, lambda s: s.order(None, "guest-1", "merino-beanie", "enamel-camp-mug")),
    (80, lambda s: s.sign_up("frank")),
    (80, lambda s: s.order("frank", "frank-1", "gift-card", "enamel-camp-mug")),
    (72, lambda s: s.refund("carol-1", "merino-beanie", "Returned: wrong colour")),
    (66, lambda s: s.order("alice", "alice-3", "trailhead-hoodie", "waxed-canvas-tote", "merino-beanie",
                           "trail-socks")),
    (60, lambda s: s.refer("alice", "bob", "bob-1", "trailhead-hoodie", "trail-socks")),
    (55, lambda s: s.order("dave", "dave-2", "ridgeline-rain-shell")),
    (54, lambda s: s.cancel("dave-2")),
    (48, lambda s: s.order("erin", "erin-2", "trailhead-hoodie", "merino-beanie", "enamel-camp-mug", "trail-socks")),
    (38, lambda s: s.redeem_and_use("erin", "erin-3", "waxed-canvas-tote")),
    (30, lambda s: s.order("alice", "alice-4", "ridgeline-rain-shell", "trailhead-hoodie")),
    (29, lambda s: s.fulfill("alice-4")),
    (21, lambda s: s.sign_up("grace")),
    (14, lambda s: s.order("bob", "bob-2", "enamel-camp-mug")),
    (7, lambda s: s.order("carol", "carol-2", "trail-socks", "merino-beanie")),
    (3, lambda s: s.order("alice", "alice-5", "ridgeline-rain-shell", "merino-beanie")),
    (1, lambda s: s.order("frank", "frank-2", "trailhead-hoodie")),
]


class _StoryClock:
    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def _turn_on_tiers_and_referrals(demo: DemoShop) -> None:
    """The merchant's choices for the demo (as made in the admin's program page)."""
    from app.services.program import current_program, update_program
    from app.services.shops import find_shop

    with demo.t.db.scope() as session:
        shop = find_shop(session, demo.domain)
        _, program = current_program(session, shop)
        settings = program.as_settings()
        settings["tiers"]["enabled"] = settings["referrals"]["enabled"] = True
        update_program(session, shop, settings, staff_user_id=DEMO_STAFF_USER_ID, now=demo.now)


def _tessera_knows_shop(demo: DemoShop) -> bool:
    from app.services.shops import find_shop
    with demo.t.db.scope(read_only=True) as session:
        return find_shop(session, demo.domain) is not None


def seed_demo_store(demo: DemoShop, *, echo: Callable[[str], None] = lambda _: None,
                    crowd: CrowdPlan | None = None) -> SeedReport:
    """Install Tessera on the demo shop and play the story, unless that was done already.
    `crowd`: the regulars and guests around the named shoppers (default: the full year)."""
    report = SeedReport()
    if not _tessera_knows_shop(demo):
        demo.stand_in.state.forget_shop(demo.domain)  # left over from a database that is gone
    if not demo.is_installed():
        echo(f"Installing Tessera on {demo.domain} (OAuth against the demo store)...")
        demo.install()
        report.installed_now = True
    if demo.snapshot()["seeded_at"]:
        report.notes.append("the demo store was seeded before; `flask --app wsgi devstore reset` starts over")
        return report
    _turn_on_tiers_and_referrals(demo)
    _play(demo, report, echo, plan_crowd() if crowd is None else crowd)
    with demo.stand_in.state.shop(demo.domain) as shop:
        shop["seeded_at"] = iso(demo.now)
    report.seeded_now = True
    return report


def _play(demo: DemoShop, report: SeedReport, echo: Callable[[str], None], crowd: CrowdPlan) -> None:
    today, real_clock = demo.now, demo.t.clock
    story, days = _Story(demo, report), _steps_by_day(crowd)
    echo(f"Playing {max(days, default=0)} days of shop life ({len(TIMELINE) + len(crowd.steps)} events) into "
         f"Tessera as signed webhooks...")
    try:
        with demo.in_batches():
            for days_ago in sorted(days, reverse=True):
                _play_day(demo, story, today - timedelta(days=days_ago), days[days_ago])
    finally:
        demo.t.clock = real_clock


def _play_day(demo: DemoShop, story: _Story, day_start: datetime, steps: list[Callable[[_Story], None]]) -> None:
    for minute, step in enumerate(steps):
        demo.t.clock = _StoryClock(day_start + timedelta(minutes=minute))
        step(story)
    demo.run_jobs()  # the day's deliveries, processed before the next day begins


def _steps_by_day(crowd: CrowdPlan) -> dict[int, list[Callable[[_Story], None]]]:
    """days ago -> that day's steps: the named shoppers' first, then the regulars'."""
    days: dict[int, list[Callable[[_Story], None]]] = {}
    for days_ago, step in TIMELINE:
        days.setdefault(days_ago, []).append(step)
    for crowd_step in crowd.steps:
        days.setdefault(crowd_step.days_ago, []).append(lambda story, s=crowd_step: story.play_crowd_step(s))
    return days


def reset_demo_store(demo: DemoShop) -> None:
    """Shopify's way out: uninstall (app/uninstalled), then shop/redact, which erases the shop's
    data in Tessera; then the demo store forgets the shop."""
    if demo.is_installed():
        demo.uninstall()
    if demo.snapshot()["deliveries"]:  # Tessera knew the shop
        demo.redact_shop()  # Shopify sends it 48 hours after the uninstall
    demo.stand_in.state.forget_shop(demo.domain)
