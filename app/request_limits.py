"""Request bodies are refused by size before a byte of them is read.

Every endpoint takes at most MAX_CONTENT_LENGTH (default 5 MB) unless its view says otherwise
with `@allows_body_up_to(...)` (the CSV import). A declared Content-Length over the limit is a
413 before the view runs; a body without one (chunked) is read through werkzeug's limited
stream, which stops at the limit and raises the same 413 instead of buffering the rest.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from app.errors import ApiError

View = TypeVar("View", bound=Callable)
READ_SLICE_BYTES = 64 * 1024


def allows_body_up_to(max_bytes: int) -> Callable[[View], View]:
    """Marks a view that needs a larger (or smaller) body limit than the application's."""
    def mark(view: View) -> View:
        view.max_body_bytes = max_bytes
        return view
    return mark


def _limit_for_this_request() -> int | None:
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "max_body_bytes", None)


def refuse_oversized_body() -> None:
    own_limit = _limit_for_this_request()
    if own_limit is not None:
        request.max_content_length = own_limit
    limit = request.max_content_length
    if limit is not None and request.content_length is not None and request.content_length > limit:
        raise body_too_large(limit)


def read_body() -> bytes:
    """The request body, never more than the limit + 1 bytes of it in memory.

    A declared Content-Length was checked before the view ran. A chunked body (no length;
    the server sets wsgi.input_terminated) is read in slices up to limit + 1 bytes, so one over
    is a 413 rather than werkzeug's silent cut at the limit (which would look like a bad HMAC)."""
    limit = request.max_content_length
    if request.content_length is not None or limit is None or not request.environ.get("wsgi.input_terminated"):
        return request.get_data(cache=True)
    stream, chunks, size = request.environ["wsgi.input"], [], 0
    while size <= limit:
        chunk = stream.read(min(READ_SLICE_BYTES, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise body_too_large(limit)
    return b"".join(chunks)


def body_too_large(limit: int) -> ApiError:
    return ApiError(413, "request_too_large", f"The request body is larger than {_size(limit)}; send less data per "
                                              "request.")


def _size(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MB" if limit >= 1024 * 1024 else f"{limit:,} bytes"


def _chunked_body_too_large(_exc: RequestEntityTooLarge):
    raise body_too_large(request.max_content_length or 0)


def init_app(app: Flask) -> None:
    app.before_request(refuse_oversized_body)
    # Raised by werkzeug's stream when a body without Content-Length runs past the limit.
    app.register_error_handler(RequestEntityTooLarge, _chunked_body_too_large)
