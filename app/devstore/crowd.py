"""The demo shop's regular customers: a year of sign-ups, orders, returns, cancellations,
referrals and redemptions around the named shoppers of `seed.py`, so analytics, tiers and
segments look like a real store's.

Only a plan (plain data, no app): drawn from a fixed random seed, so every `devstore seed` makes
the same shop. Days count back from the day of seeding; `seed.py` plays the plan through the
demo store, which turns each step into the webhooks Shopify would send.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from app.devstore.commerce import Address

RANDOM_SEED = 20251203
CROWD_CUSTOMERS = 293  # with the seven named shoppers, 300 customers
YEAR_DAYS = 365

FIRST_NAMES = ("Aaliyah Aaron Abigail Adrian Aisha Alejandro Amara Andre Anika Arjun Ava Beatriz Benjamin Bianca "
               "Caleb Camila Chloe Connor Daniel Diego Elena Elijah Emma Ethan Fatima Felix Gabriel Hana Harper "
               "Hiro Isabel Isaac Jada Jamal Julia Kai Layla Leo Liam Lucia Maya Mateo Mei Mia Nadia Noah Nora "
               "Omar Owen Priya Quinn Rafael Riley Rosa Ruby Samuel Sara Sofia Tariq Theo Uma Victor Wren Yara "
               "Yusuf Zoe").split()
LAST_NAMES = ("Abbott Adeyemi Alvarez Anderson Bauer Becker Brennan Castillo Chowdhury Cohen Dubois Eriksen "
              "Fischer Flores Garcia Gupta Haddad Hansen Hughes Ito Jensen Kaur Keller Kowalski Larsen Lee Lopez "
              "Mahmoud Moreau Murphy Nakamura Nguyen O'Brien Okoro Patel Petrov Quinn Reyes Rossi Russo Sato "
              "Schmidt Silva Singh Sullivan Tanaka Torres Vargas Wagner Walker Yilmaz Young Zhang").split()
CITIES = (
    ("Portland", "Oregon", "OR", "97205", "SW Morrison St"), ("Seattle", "Washington", "WA", "98104", "2nd Ave"),
    ("Boise", "Idaho", "ID", "83702", "W Main St"), ("Denver", "Colorado", "CO", "80205", "Blake St"),
    ("Salt Lake City", "Utah", "UT", "84111", "S State St"), ("Austin", "Texas", "TX", "78704", "S Lamar Blvd"),
    ("Minneapolis", "Minnesota", "MN", "55401", "Washington Ave N"), ("Chicago", "Illinois", "IL", "60614",
                                                                       "N Clark St"),
    ("Madison", "Wisconsin", "WI", "53703", "Williamson St"), ("Asheville", "North Carolina", "NC", "28801",
                                                                "Haywood St"),
    ("Burlington", "Vermont", "VT", "05401", "Church St"), ("Boston", "Massachusetts", "MA", "02116",
                                                             "Newbury St"),
    ("Brooklyn", "New York", "NY", "11211", "Bedford Ave"), ("Pittsburgh", "Pennsylvania", "PA", "15222",
                                                              "Penn Ave"),
    ("Ann Arbor", "Michigan", "MI", "48104", "S State St"), ("Bend", "Oregon", "OR", "97701", "NW Wall St"),
    ("Flagstaff", "Arizona", "AZ", "86001", "N San Francisco St"), ("Santa Fe", "New Mexico", "NM", "87501",
                                                                     "Canyon Rd"),
    ("Sacramento", "California", "CA", "95814", "K St"), ("Anchorage", "Alaska", "AK", "99501", "W 4th Ave"),
)
# How often each product is bought (the gift card rarely; the curated box only via `trigger`).
PRODUCT_WEIGHTS = {"trail-socks": 22, "trailhead-hoodie": 20, "merino-beanie": 18, "enamel-camp-mug": 18,
                   "ridgeline-rain-shell": 10, "waxed-canvas-tote": 10, "gift-card": 4}
# Orders per customer over their time with the shop: most buy once or twice, a few are regulars.
ORDER_COUNTS, ORDER_COUNT_WEIGHTS = (1, 2, 3, 5, 8, 14, 24), (22, 19, 16, 15, 13, 9, 6)
GUEST_ORDERS = 110
REFUND_SHARE, CANCEL_SHARE, REFERRED_SHARE = 0.06, 0.02, 0.08
# A regular redeems their cheapest reward before these orders (0-based), if the balance allows.
REDEEM_BEFORE_ORDER = (5, 11, 17)


@dataclass(frozen=True)
class CrowdCustomer:
    key: str  # plan-local name, e.g. "c042"
    email: str
    first_name: str
    last_name: str
    account: bool
    accepts_marketing: bool
    address: Address


@dataclass(frozen=True)
class CrowdStep:
    """One thing that happens `days_ago` days before the seeding day."""
    days_ago: int
    kind: str  # sign_up | order | refund | cancel
    customer: CrowdCustomer | None = None
    order_label: str | None = None
    items: tuple[tuple[str, int], ...] = ()  # (product handle, quantity)
    referred_by: CrowdCustomer | None = None
    redeem_first: bool = False
    guest_email: str | None = None


@dataclass
class CrowdPlan:
    steps: list[CrowdStep] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for s in self.steps if s.kind == kind)


def plan_crowd(customers: int = CROWD_CUSTOMERS, guest_orders: int = GUEST_ORDERS,
               seed: int = RANDOM_SEED) -> CrowdPlan:
    """The same plan for the same arguments: customers and guests over the last year."""
    rng, plan = random.Random(seed), CrowdPlan()
    joined: list[tuple[int, CrowdCustomer]] = []
    for number in range(customers):
        customer = _customer(rng, number)
        days_ago = 1 + int((YEAR_DAYS - 1) * rng.random() ** 0.8)  # more customers lately: the shop grows
        referrer = _referrer(rng, joined, days_ago)
        plan.steps.append(CrowdStep(days_ago, "sign_up", customer))
        _plan_orders(rng, plan, customer, days_ago, referrer)
        joined.append((days_ago, customer))
    for number in range(guest_orders):
        plan.steps.append(CrowdStep(rng.randint(1, YEAR_DAYS), "order", order_label=f"g{number:03d}",
                                    items=_basket(rng), guest_email=f"guest.{number:03d}@example.net"))
    _plan_returns(rng, plan)
    plan.steps.sort(key=lambda s: (-s.days_ago, ("sign_up", "order", "refund", "cancel").index(s.kind)))
    return plan


def _customer(rng: random.Random, number: int) -> CrowdCustomer:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    city, state, code, zip_code, street = rng.choice(CITIES)
    address = Address(f"{rng.randint(100, 4999)} {street}", city, state, code, zip_code,
                      f"+1 555-01{rng.randint(0, 99):02d}" if rng.random() < 0.4 else None)
    email = f"{first}.{last}.{number:03d}@example.com".lower().replace("'", "")
    return CrowdCustomer(f"c{number:03d}", email, first, last, account=rng.random() < 0.8,
                         accepts_marketing=rng.random() < 0.45, address=address)


def _referrer(rng: random.Random, joined: list[tuple[int, CrowdCustomer]], days_ago: int) -> CrowdCustomer | None:
    """Someone with an account who joined at least a week earlier shared their link."""
    earlier = [c for joined_ago, c in joined if joined_ago > days_ago + 7 and c.account]
    return rng.choice(earlier) if earlier and rng.random() < REFERRED_SHARE else None


def _plan_orders(rng: random.Random, plan: CrowdPlan, customer: CrowdCustomer, joined_ago: int,
                 referrer: CrowdCustomer | None) -> None:
    wanted = rng.choices(ORDER_COUNTS, ORDER_COUNT_WEIGHTS)[0]
    count = max(1, min(wanted, joined_ago // 7))  # nobody orders every day
    days = sorted({joined_ago} | {rng.randint(1, joined_ago) for _ in range(count - 1)}, reverse=True)
    for index, days_ago in enumerate(days):
        redeem = index in REDEEM_BEFORE_ORDER
        plan.steps.append(CrowdStep(days_ago, "order", customer, order_label=f"{customer.key}-{index}",
                                    items=_basket(rng, goods=redeem), referred_by=referrer if index == 0 else None,
                                    redeem_first=redeem))


def _basket(rng: random.Random, goods: bool = False) -> tuple[tuple[str, int], ...]:
    """1-4 products; with `goods`, at least one a discount code applies to (not the gift card)."""
    size = rng.choices((1, 2, 3, 4), (45, 30, 17, 8))[0]
    handles = rng.choices(list(PRODUCT_WEIGHTS), list(PRODUCT_WEIGHTS.values()), k=size)
    if goods and set(handles) == {"gift-card"}:
        handles.append("trailhead-hoodie")
    return tuple((handle, handles.count(handle)) for handle in dict.fromkeys(handles))


def _plan_returns(rng: random.Random, plan: CrowdPlan) -> None:
    """Some orders come back in part a few days later; a few are cancelled the next day."""
    for step in [s for s in plan.steps if s.kind == "order"]:
        roll = rng.random()
        if roll < CANCEL_SHARE and step.days_ago > 1:
            plan.steps.append(CrowdStep(step.days_ago - 1, "cancel", step.customer, order_label=step.order_label))
        elif roll < CANCEL_SHARE + REFUND_SHARE and step.days_ago > 3:
            returned = rng.choice([h for h, _ in step.items if h != "gift-card"] or [None])
            if returned:
                plan.steps.append(CrowdStep(step.days_ago - rng.randint(3, min(20, step.days_ago - 1)), "refund",
                                            step.customer, order_label=step.order_label, items=((returned, 1),)))
