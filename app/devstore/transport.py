"""HTTP to APP_URL without a server: a requests adapter that hands each request to the Flask
app in this process. CLI commands (`devstore seed`, `trigger`) mount it on Tessera's own
requests session, so the app's real Shopify client reaches the stand-in, and the stand-in's
webhooks reach POST /webhooks, through the same URLs and handlers as over the network.
"""
from __future__ import annotations

import io
from urllib.parse import urlsplit

import requests
from flask import Flask
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

# Set by the WSGI layer from the body; a copy from requests would contradict it.
_HOP_HEADERS = {"content-length", "host", "connection", "transfer-encoding"}


class InProcessAdapter(BaseAdapter):
    def __init__(self, app: Flask):
        super().__init__()
        self.app = app

    def send(self, request: requests.PreparedRequest, stream=False, timeout=None, verify=True, cert=None,
             proxies=None) -> requests.Response:
        url = urlsplit(request.url)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        body = request.body.encode() if isinstance(request.body, str) else request.body
        answer = self.app.test_client().open(url.path, base_url=f"{url.scheme}://{url.netloc}",
                                             query_string=url.query, method=request.method, headers=headers,
                                             data=body or b"")
        response = requests.Response()
        response.status_code = answer.status_code
        response.reason = answer.status.split(" ", 1)[-1]
        response.headers = CaseInsensitiveDict(answer.headers.items())
        response._content = answer.get_data()
        response.raw = io.BytesIO(response._content)
        response.url = request.url
        response.request = request
        response.encoding = answer.charset if hasattr(answer, "charset") else "utf-8"
        return response

    def close(self) -> None:
        pass


def mount_in_process(session: requests.Session, app: Flask, base_url: str) -> None:
    session.mount(base_url.rstrip("/") + "/", InProcessAdapter(app))
