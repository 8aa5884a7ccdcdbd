"""The three HMACs Shopify uses (as shopify.dev documents them):

- webhooks: base64 HMAC-SHA256 of the raw body;
- OAuth / app-load query `hmac`: hex HMAC of sorted `k=v` pairs joined with `&`;
- App Proxy `signature`: hex HMAC of sorted `k=v` pairs (repeated keys comma-joined) joined
  with nothing.
All comparisons are constant-time; several secrets are accepted during a secret rotation.
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


def webhook_hmac_valid(raw_body: bytes, sent: str | None, secrets: Iterable[str]) -> bool:
    if not sent:
        return False
    return any(hmac.compare_digest(webhook_hmac(raw_body, s), sent) for s in secrets if s)


def _pairs(query_string: str) -> list[tuple[str, str]]:
    return parse_qsl(query_string, keep_blank_values=True)


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
    sent = dict(_pairs(query_string)).get("hmac", "")
    if not sent:
        return False
    return any(hmac.compare_digest(oauth_query_hmac(query_string, s), sent) for s in secrets if s)


def proxy_message(query_string: str) -> str:
    grouped: dict[str, list[str]] = {}
    for key, value in _pairs(query_string):
        if key not in ("signature", "hmac"):
            grouped.setdefault(key, []).append(value)
    return "".join(f"{k}={','.join(v)}" for k, v in sorted(grouped.items()))


def proxy_signature(query_string: str, secret: str) -> str:
    return hmac.new(secret.encode(), proxy_message(query_string).encode(), hashlib.sha256).hexdigest()


def proxy_signature_valid(query_string: str, secrets: Iterable[str]) -> bool:
    sent = [v for k, v in _pairs(query_string) if k == "signature"]
    if len(sent) != 1:
        return False
    return any(hmac.compare_digest(proxy_signature(query_string, s), sent[0]) for s in secrets if s)
