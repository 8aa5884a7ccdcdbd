"""Merging JSON-like settings: a partial update over the full document."""
from __future__ import annotations


def deep_merge(base: dict, changes: dict) -> dict:
    """`changes` over `base`: objects are merged key by key, anything else (lists too) replaced."""
    merged = dict(base)
    for key, value in changes.items():
        merged[key] = deep_merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) \
            else value
    return merged
