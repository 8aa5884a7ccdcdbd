"""Access logs without credentials.

Query strings carry credentials: the embedded admin's first load has `id_token` (a session
token, good for a token exchange), App Proxy and OAuth requests carry `signature`/`hmac`, and the
OAuth callback's `code` and `state` are single-use secrets. Access logs are kept longer and read
by more people than the database, so those values are replaced before a line is written, by
gunicorn (`RedactingGunicornLogger`, set in gunicorn.conf.py) and by the development server
(`redact_werkzeug_log`).
"""
from __future__ import annotations

import logging
import re

from gunicorn.glogging import Logger as GunicornLogger

SECRET_QUERY_KEYS = ("id_token", "signature", "hmac", "session", "code", "state")
REDACTED = "[redacted]"

_SECRET_VALUE = re.compile(r"(?i)(^|[?&;])(" + "|".join(SECRET_QUERY_KEYS) + r")=[^&;#\s\"]*")


def redact_query_values(text: str | None) -> str | None:
    """`/?shop=a&id_token=eyJ...` -> `/?shop=a&id_token=[redacted]` (any URL, query or request line)."""
    if not text:
        return text
    return _SECRET_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}={REDACTED}", text)


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_query_values(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def redact_werkzeug_log() -> None:
    """The development server logs each request line on the `werkzeug` logger."""
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(f, _RedactingFilter) for f in logger.filters):
        logger.addFilter(_RedactingFilter())


class RedactingGunicornLogger(GunicornLogger):
    """gunicorn's logger with the URL-bearing access-log atoms redacted: the request line
    (`r`), the query (`q`) and the referrer (`f`, which repeats the admin page's URL)."""

    URL_ATOMS = ("r", "q", "f", "{referer}i")

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for name in self.URL_ATOMS:
            if isinstance(atoms.get(name), str):
                atoms[name] = redact_query_values(atoms[name])
        return atoms
