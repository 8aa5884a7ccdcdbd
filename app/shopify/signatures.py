"""The three HMACs Shopify uses (as shopify.dev documents them):

- webhooks: base64 HMAC-SHA256 of the raw body;
- OAuth / app-load query `hmac`: hex HMAC of sorted `k=v` pairs joined with `&`;
- App Proxy `signature`: hex HMAC of sorted `k=v` pairs (repeated keys comma-joined) joined
  with nothing.
All comparisons are constant-time; several secrets are accepted during a secret rotation.
A signature that is not plain ASCII can never match a hex/base64 digest: it is refused as a
mismatch (compare_digest would raise on it), never an error.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import parse_qsl


def _hmac_sha256(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def webhook_hmac(raw_body: bytes, secret: str) -> str:
    return base64.b64encode(_hmac_sha256(secret, raw_body)).decode()


def _digests_match(expected: str, sent: str) -> bool:
    return sent.isascii() and hmac.compare_digest(expected.encode(), sent.encode())


def webhook_hmac_valid(raw_body: bytes, sent: str | None, secrets: Iterable[str]) -> bool:
    if not sent:
        return False
    return any(_digests_match(webhook_hmac(raw_body, s), sent) for s in secrets if s)


def _pairs(query_string: str) -> list[tuple[str, str]]:
    return parse_qsl(query_string, keep_blank_values=True)


def repeated_keys(query_string: str, keys: Iterable[str] | None = None) -> set[str]:
    """Keys sent more than once (all of them, or only those in `keys`). A repeated key has no
    single meaning: code reading the first value while the signature covers the last (or all,
    comma-joined) lets a signed query say two things at once."""
    seen: set[str] = set()
    repeated: set[str] = set()
    for key, _ in _pairs(query_string):
        (repeated if key in seen else seen).add(key)
    return repeated if keys is None else repeated & set(keys)


def oauth_query_message(query_string: str) -> str:
    # Array params (`ids[]=1&ids[]=2`) are encoded as Shopify's Python library does.
    grouped: dict[str, list[str]] = {}
    for key, value in _pairs(query_string):
        if key != "hmac":
            grouped.setdefault(key, []).append(value)
    pieces = []
    for key, values in grouped.items():
        if key.endswith("[]"):
            pieces.append(f"{key[:-2]}=[" + ", ".join(f'"{v}"' for v in values) + "]")
        else:
            pieces.append(f"{key}={values[-1]}")
    return "&".join(sorted(pieces))


def oauth_query_hmac(query_string: str, secret: str) -> str:
    return hmac.new(secret.encode(), oauth_query_message(query_string).encode(), hashlib.sha256).hexdigest()


def oauth_query_hmac_valid(query_string: str, secrets: Iterable[str]) -> bool:
    """Only a query whose plain keys each appear once can be valid: the message signs the last
    value of a repeated key, while a reader may use the first."""
    if any(not key.endswith("[]") for key in repeated_keys(query_string)):
        return False
    sent = dict(_pairs(query_string)).get("hmac", "")
    if not sent:
        return False
    return any(_digests_match(oauth_query_hmac(query_string, s), sent) for s in secrets if s)


def proxy_message(query_string: str) -> str:
    grouped: dict[str, list[str]] = {}
    for key, value in _pairs(query_string):
        if key not in ("signature", "hmac"):
            grouped.setdefault(key, []).append(value)
    return "".join(f"{k}={','.join(v)}" for k, v in sorted(grouped.items()))


def proxy_signature(query_string: str, secret: str) -> str:
    return hmac.new(secret.encode(), proxy_message(query_string).encode(), hashlib.sha256).hexdigest()


# Set by Shopify on every proxied request. A shopper may add their own copies to the storefront
# URL; Shopify then signs both (comma-joined), so a repeat is never Shopify's own word.
PROXY_SHOPIFY_PARAMS = frozenset({"shop", "logged_in_customer_id", "timestamp", "path_prefix", "signature"})


def proxy_signature_valid(query_string: str, secrets: Iterable[str]) -> bool:
    if repeated_keys(query_string, PROXY_SHOPIFY_PARAMS):
        return False
    sent = [v for k, v in _pairs(query_string) if k == "signature"]
    if len(sent) != 1:
        return False
    return any(_digests_match(proxy_signature(query_string, s), sent[0]) for s in secrets if s)
