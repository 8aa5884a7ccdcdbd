"""Logs never carry member data or request credentials: database errors show statements
without their values, and access logs show `id_token`, `signature`, `hmac`, OAuth `code` and
`state` as [redacted]."""
import logging
import runpy
import threading
from datetime import timedelta
from types import SimpleNamespace

import pytest
import requests
import sqlalchemy as sa
from gunicorn.config import Config
from werkzeug.serving import make_server

from app.db import make_engine
from app.request_logs import RedactingGunicornLogger, redact_query_values
from tests.support import PROJECT_ROOT

SECRET_URL = ("/?shop=maple-pine-goods.myshopify.com&id_token=eyJhbGciOiJIUzI1NiJ9.payload.sig"
              "&hmac=ab12&signature=cd34&code=0907a61c&state=xyz&host=YWRtaW4")
SECRETS = ("eyJhbGciOiJIUzI1NiJ9", "ab12", "cd34", "0907a61c", "xyz")


def test_a_database_error_does_not_carry_a_members_email(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'pii.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE member (email TEXT UNIQUE)")
        connection.exec_driver_sql("INSERT INTO member VALUES ('jane.doe@example.com')")
    with pytest.raises(sa.exc.IntegrityError) as caught, engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO member VALUES (:email)"), {"email": "jane.doe@example.com"})
    assert "jane.doe@example.com" not in str(caught.value)
    assert "hidden due to hide_parameters" in str(caught.value)
    engine.dispose()


def test_the_postgresql_engine_hides_parameters_too():
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert engine.hide_parameters


def test_redaction_keeps_the_rest_of_the_url():
    assert redact_query_values(SECRET_URL) == (
        "/?shop=maple-pine-goods.myshopify.com&id_token=[redacted]&hmac=[redacted]&signature=[redacted]"
        "&code=[redacted]&state=[redacted]&host=YWRtaW4")
    assert redact_query_values("shop=a&discount_code=KEEP&hmac=1") == "shop=a&discount_code=KEEP&hmac=[redacted]"


def test_gunicorn_access_log_lines_carry_no_session_token_or_signature(tmp_path):
    settings = runpy.run_path(str(PROJECT_ROOT / "gunicorn.conf.py"))
    assert settings["logger_class"] == "app.request_logs.RedactingGunicornLogger"
    log_file = tmp_path / "access.log"
    cfg = Config()
    cfg.set("accesslog", str(log_file))
    logger = RedactingGunicornLogger(cfg)
    path, query = SECRET_URL.split("?", 1)
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": SECRET_URL, "SERVER_PROTOCOL": "HTTP/1.1", "PATH_INFO": path,
               "QUERY_STRING": query, "HTTP_REFERER": f"https://admin.shopify.com{SECRET_URL}",
               "REMOTE_ADDR": "203.0.113.9"}
    response = SimpleNamespace(status="200 OK", sent=12, headers=[])
    request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    cfg.set("access_log_format", '%(r)s %(q)s "%(f)s" "%({referer}i)s"')
    logger.access(response, request, environ, timedelta(milliseconds=3))
    for handler in logger.access_log.handlers:
        handler.flush()
    line = log_file.read_text()
    assert "id_token=[redacted]" in line and "shop=maple-pine-goods.myshopify.com" in line
    assert not any(secret in line for secret in SECRETS)


def test_development_server_request_lines_carry_no_session_token(app, caplog):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            requests.get(f"http://127.0.0.1:{server.port}{SECRET_URL}", timeout=10)
    finally:
        server.shutdown()
        thread.join(timeout=10)
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any("id_token=[redacted]" in line for line in lines)
    assert not any(secret in line for line in lines for secret in SECRETS)
