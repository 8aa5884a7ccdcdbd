"""Shop domains: only `*.myshopify.com` identifies a shop (custom domains never do)."""
from __future__ import annotations

import re

from shopify.utils.shop_url import sanitize_shop_domain

_MYSHOPIFY = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")


class InvalidShopDomain(ValueError):
    pass


def normalize_shop_domain(value: str | None) -> str:
    """The canonical `name.myshopify.com` host, or InvalidShopDomain with a message to act on."""
    raw = (value or "").strip().lower()
    domain = sanitize_shop_domain(raw) if raw.endswith(".myshopify.com") else None
    if not domain or not _MYSHOPIFY.match(domain):
        raise InvalidShopDomain(
            f"'{value or ''}' is not a Shopify shop domain; use the store's permanent "
            "address ending in .myshopify.com (for example my-store.myshopify.com)")
    return domain
