"""Fixed-window request limits, counted in the database so every web process shares them.

One upsert per request (`hits = hits + 1 ... RETURNING hits`) in its own short transaction:
concurrent requests in different gunicorn workers each get a distinct count, so a limit of N
lets exactly N through per window. The first hit of a window also deletes the shop's windows
that ended over a day ago, so the table stays small without a separate job.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, delete, text

from app.models import RateLimitWindow

if TYPE_CHECKING:
    from app.db import Database

KEEP_ENDED_WINDOWS = timedelta(days=1)

_COUNT_HIT = text(
    "INSERT INTO rate_limit_windows (shop_id, bucket, window_start, hits) "
    "VALUES (:shop_id, :bucket, :window_start, 1) "
    "ON CONFLICT (shop_id, bucket, window_start) DO UPDATE SET hits = rate_limit_windows.hits + 1 "
    "RETURNING hits").bindparams(bindparam("window_start", type_=RateLimitWindow.__table__.c.window_start.type))


@dataclass(frozen=True)
class RateLimit:
    bucket: str
    max_hits: int
    window: timedelta


def _window_start(now: datetime, window: timedelta) -> datetime:
    seconds = window.total_seconds()
    return datetime.fromtimestamp(math.floor(now.timestamp() / seconds) * seconds, tz=now.tzinfo)


def count_request(db: "Database", shop_id: int, limit: RateLimit, now: datetime) -> int | None:
    """Counts one request against `limit`; returns the seconds to wait when it is over the
    limit (the request must then be refused), None when it may go ahead."""
    start = _window_start(now, limit.window)
    with db.engine.connect() as connection:
        hits = connection.execute(_COUNT_HIT, {"shop_id": shop_id, "bucket": limit.bucket[:200],
                                               "window_start": start}).scalar_one()
        if hits == 1:
            connection.execute(delete(RateLimitWindow).where(
                RateLimitWindow.shop_id == shop_id, RateLimitWindow.window_start < now - KEEP_ENDED_WINDOWS))
        connection.commit()
    if hits <= limit.max_hits:
        return None
    return max(1, math.ceil((start + limit.window - now).total_seconds()))
