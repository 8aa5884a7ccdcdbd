"""The demo shop's products, collections, shipping and tax (prices in USD)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

DEMO_SHOP = "demo-store.myshopify.com"
CURRENCY = "USD"
TAX_RATE = Decimal("0.08")
TAX_TITLE = "Sales tax"
STANDARD_SHIPPING = Decimal("6.95")
FREE_SHIPPING_FROM = Decimal("75.00")  # merchandise subtotal at which shipping is free


@dataclass(frozen=True)
class Product:
    handle: str
    product_id: int
    variant_id: int
    title: str
    variant_title: str | None
    sku: str | None
    price: Decimal
    grams: int = 300
    gift_card: bool = False
    collections: tuple[str, ...] = ()

    @property
    def taxable(self) -> bool:
        return not self.gift_card  # gift cards are money, not goods: never taxed


PRODUCTS = {p.handle: p for p in (
    Product("trailhead-hoodie", 8123456789012, 44123456789012, "Trailhead Hoodie", "Forest / M", "TH-HOOD-FOR-M",
            Decimal("68.00"), 680, collections=("outerwear",)),
    Product("ridgeline-rain-shell", 8123456789113, 44123456789113, "Ridgeline Rain Shell", "Slate / L",
            "RS-SHELL-SLA-L", Decimal("148.00"), 540, collections=("outerwear",)),
    Product("merino-beanie", 8123456789214, 44123456789214, "Merino Beanie", "Charcoal", "MB-BEAN-CHA",
            Decimal("28.00"), 90, collections=("accessories",)),
    Product("trail-socks", 8123456789315, 44123456789315, "Trail Socks 3-Pack", "M", "TS-SOCK-3P-M",
            Decimal("22.00"), 150, collections=("accessories",)),
    Product("enamel-camp-mug", 8123456789416, 44123456789416, "Enamel Camp Mug", None, "CM-MUG-ENA",
            Decimal("18.00"), 310, collections=("accessories",)),
    Product("waxed-canvas-tote", 8123456789517, 44123456789517, "Waxed Canvas Tote", "Tan", "WT-TOTE-TAN",
            Decimal("42.00"), 420, collections=("accessories",)),
    Product("gift-card", 8123456790036, 44123456790036, "Demo Store Gift Card", "$50.00", None, Decimal("50.00"),
            0, gift_card=True),
    # `devstore trigger orders/paid --total 54.00` sells one of these at the given price.
    Product("curated-gift-box", 8123456789618, 44123456789618, "Curated Gift Box", "Custom", "GB-CUSTOM",
            Decimal("0.00"), 900),
)}

COLLECTIONS = {
    "outerwear": (463812345601, "Outerwear"),
    "accessories": (463812345602, "Accessories"),
}


def product(handle: str) -> Product:
    try:
        return PRODUCTS[handle]
    except KeyError:
        raise ValueError(f"no product '{handle}' in the demo catalog ({', '.join(PRODUCTS)})") from None


def shipping_price(merchandise: Decimal, needs_shipping: bool) -> Decimal | None:
    if not needs_shipping:
        return None
    return Decimal("0.00") if merchandise >= FREE_SHIPPING_FROM else STANDARD_SHIPPING


def by_variant(variant_id: int) -> Product | None:
    return next((p for p in PRODUCTS.values() if p.variant_id == variant_id), None)


def current_price(shop: dict, product: Product) -> Decimal:
    """The variant's price now: the owner may have changed it since the catalog was set up."""
    changed = (shop.get("variant_prices") or {}).get(str(product.variant_id))
    return Decimal(changed) if changed is not None else product.price
