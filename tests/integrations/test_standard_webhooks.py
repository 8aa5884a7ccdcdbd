"""Our signatures are the Standard Webhooks reference's: its library verifies what we sign."""
from datetime import datetime, timezone

from standardwebhooks.webhooks import Webhook

from app.integrations.standard_webhooks import new_signing_secret, signed_headers


def test_the_reference_library_computes_the_same_signature():
    secret = new_signing_secret()
    body = '{"data":{"balance":110,"customer_id":7412583020571},"type":"points.earned"}'
    sent_at = datetime(2025, 2, 14, 15, 0, 7, tzinfo=timezone.utc)
    headers = signed_headers(secret, "msg_2c8f", sent_at, body)
    assert headers["webhook-timestamp"] == str(int(sent_at.timestamp()))
    assert headers["webhook-signature"] == Webhook(secret).sign("msg_2c8f", sent_at, body)


def test_the_reference_library_accepts_a_fresh_delivery():
    secret = new_signing_secret()
    body = '{"type":"tier.changed","timestamp":"2025-02-14T15:00:00+00:00","data":{}}'
    headers = signed_headers(secret, "msg_1", datetime.now(timezone.utc), body)
    assert Webhook(secret).verify(body, headers) == {"type": "tier.changed", "timestamp": "2025-02-14T15:00:00+00:00",
                                                     "data": {}}


def test_a_secret_is_the_whsec_prefix_and_base64_of_32_random_bytes():
    import base64
    secret = new_signing_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    assert secret != new_signing_secret()
