"""Recognising the subject of a customers/redact in stored text and raw bodies (no database)."""
import json
from types import SimpleNamespace

from app.loyalty.privacy import Subject

ZELDA = Subject.of({"id": 7412583029999, "email": "Zelda.Quinn@example.org", "phone": "+14165550199"},
                   SimpleNamespace(email="zelda.quinn@example.org", phone=None, first_name="Zelda", last_name="Quinn"))


def test_scrub_replaces_names_email_and_phone_but_not_words_that_contain_a_name():
    text = "Thanks Zelda Quinn (ZELDA.QUINN@example.org, +14165550199); Zeldas and Quinnton stay"
    assert ZELDA.scrub(text) == "Thanks a customer (a customer, a customer); Zeldas and Quinnton stay"


def test_a_body_mentions_the_customer_by_id_gid_email_or_differently_formatted_phone():
    assert ZELDA.is_mentioned_in(json.dumps({"customer": {"id": 7412583029999}}).encode())
    assert ZELDA.is_mentioned_in(json.dumps({"node": "gid://shopify/Customer/7412583029999"}).encode())
    assert ZELDA.is_mentioned_in(json.dumps({"contact_email": "zelda.quinn@EXAMPLE.org"}).encode())
    assert ZELDA.is_mentioned_in(json.dumps({"billing_address": {"phone": "+1 416-555-0199"}}).encode())


def test_another_customers_body_that_merely_contains_the_digits_is_not_about_them():
    other = {"customer": {"id": 17412583029999}, "note": "ref 7412583029999-A", "total": 7412583029999.5}
    assert not ZELDA.is_mentioned_in(json.dumps(other).encode())
