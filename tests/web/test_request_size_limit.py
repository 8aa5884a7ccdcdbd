"""Bodies over MAX_CONTENT_LENGTH are refused with 413 before they are read: a huge webhook
body must not be buffered (it was: 256 MB raised memory by 500 MB) just to fail the HMAC."""
import io

import pytest
from flask import Request
from werkzeug.test import EnvironBuilder, run_wsgi_app

from tests.support import payload_bytes, send_webhook, signed_proxy_query, webhook_headers

LIMIT = 32 * 1024


@pytest.fixture
def app_settings(app_settings):
    return {**app_settings, "MAX_CONTENT_LENGTH": LIMIT}


@pytest.fixture
def reads(monkeypatch):
    """Every get_data() call the app makes."""
    calls = []
    original = Request.get_data

    def counting(self, *args, **kwargs):
        calls.append(self.path)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Request, "get_data", counting)
    return calls


class CountingStream(io.RawIOBase):
    """An endless chunked body that counts what the server pulled from it."""

    def __init__(self):
        self.bytes_read = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        buffer[:] = b"x" * len(buffer)
        self.bytes_read += len(buffer)
        return len(buffer)


def test_an_oversized_webhook_is_413_before_the_body_is_read(client, t, shop, reads):
    body = b'{"id": 1, "padding": "' + b"x" * LIMIT + b'"}'
    response = client.post("/webhooks", data=body, headers=webhook_headers("orders/paid", body))
    assert response.status_code == 413 and response.json["error"]["code"] == "request_too_large"
    assert reads == []


def test_a_chunked_webhook_without_content_length_is_cut_off_at_the_limit(app, t, shop):
    stream = CountingStream()
    environ = EnvironBuilder(path="/webhooks", method="POST", headers=webhook_headers("orders/paid", b"{}"),
                             data=b"").get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ.update({"wsgi.input": stream, "wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"})
    body, status, _ = run_wsgi_app(app, environ, buffered=True)
    assert status.startswith("413") and b"request_too_large" in b"".join(body)
    assert stream.bytes_read == LIMIT + 1


def test_a_webhook_within_the_limit_is_accepted(client, t, shop):
    assert send_webhook(client, "orders/paid", payload_bytes("orders/paid")).status_code == 200


def test_a_chunked_webhook_within_the_limit_is_read_whole_and_accepted(app, t, shop):
    body = payload_bytes("orders/paid")
    environ = EnvironBuilder(path="/webhooks", method="POST", headers=webhook_headers("orders/paid", body),
                             data=b"").get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ.update({"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True})
    _, status, _ = run_wsgi_app(app, environ, buffered=True)
    assert status.startswith("200")


def test_oversized_app_proxy_bodies_are_413(client, t, shop, reads):
    response = client.post(f"/proxy/claim?{signed_proxy_query()}", data=b"{" + b" " * LIMIT + b"}",
                           content_type="application/json")
    assert response.status_code == 413 and reads == []


def test_the_limit_comes_from_the_environment_with_a_5_mb_default():
    from config import settings_from_env
    assert settings_from_env({})["MAX_CONTENT_LENGTH"] == 5 * 1024 * 1024
    assert settings_from_env({"MAX_CONTENT_LENGTH": "1048576"})["MAX_CONTENT_LENGTH"] == 1048576
    with pytest.raises(ValueError, match="MAX_CONTENT_LENGTH"):
        settings_from_env({"MAX_CONTENT_LENGTH": "5MB"})


def test_the_csv_import_keeps_its_own_larger_limit(client, t, shop):
    from tests.admin.test_csv import upload
    rows = "".join(f"{600 + i},10,m{i}@example.com,M,{i},\n" for i in range(1400))
    text = "customer_id,points,email,first_name,last_name,note\n" + rows
    assert len(text) > LIMIT
    response = upload(client, text)
    assert response.status_code == 200, response.json


def test_a_csv_upload_over_its_own_limit_is_413(client, t, shop, monkeypatch):
    import app.admin.imports as imports
    from tests.admin.test_csv import upload
    monkeypatch.setattr(imports.import_balances, "max_body_bytes", LIMIT * 2)
    response = upload(client, "customer_id,points\n" + "1,1\n" * LIMIT)
    assert response.status_code == 413 and response.json["error"]["code"] == "request_too_large"
