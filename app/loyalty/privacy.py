"""Who a customers/redact is about, and how to recognise them in stored text and raw bodies."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# What an erased mention of the customer reads as in history kept for others (ledger reasons).
REPLACEMENT = "a customer"
MIN_PHONE_DIGITS = 7


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


@dataclass(frozen=True)
class Subject:
    customer_id: int
    emails: frozenset[str]
    phones: frozenset[str]  # as given (Shopify formats phones differently per field)
    names: tuple[str, ...]  # full name first, so "Zelda Quinn" goes before "Zelda"

    @classmethod
    def of(cls, customer: dict, member: Any | None) -> "Subject":
        """From the redact payload's customer (id, email, phone) and what the member row held."""
        emails = {customer.get("email"), getattr(member, "email", None)}
        phones = {customer.get("phone"), getattr(member, "phone", None)}
        first, last = getattr(member, "first_name", None), getattr(member, "last_name", None)
        names = [" ".join(p for p in (first, last) if p), first, last]
        return cls(customer_id=int(customer["id"]),
                   emails=frozenset(e.strip().lower() for e in emails if e and e.strip()),
                   phones=frozenset(p.strip() for p in phones if p and len(_digits(p)) >= MIN_PHONE_DIGITS),
                   names=tuple(dict.fromkeys(n.strip() for n in names if n and len(n.strip()) >= 2)))

    @property
    def terms(self) -> list[str]:
        """Substrings whose presence makes a text worth scrubbing."""
        return [*self.emails, *self.phones, *self.names]

    def scrub(self, text: str) -> str:
        for email in self.emails:
            text = re.sub(re.escape(email), REPLACEMENT, text, flags=re.IGNORECASE)
        for phone in self.phones:
            text = text.replace(phone, REPLACEMENT)
        for name in self.names:
            text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", REPLACEMENT, text, flags=re.IGNORECASE)
        return text

    def is_mentioned_in(self, body: bytes) -> bool:
        """A raw webhook body about this customer: their id (number, string or gid), email or
        phone appears as a value. A cheap byte check first; a body that is not JSON but holds
        one of them counts as a mention (erasing it loses nothing that could be applied)."""
        lowered = body.lower()
        needles = [str(self.customer_id).encode(), *(e.encode() for e in self.emails)]
        if not any(n in lowered for n in needles) and not self._phone_digits_in(body):
            return False
        try:
            document = json.loads(body)
        except ValueError:
            return True
        return any(self._matches(value) for value in _scalars(document))

    def _phone_digits_in(self, body: bytes) -> bool:
        digits = re.sub(rb"\D", b"", body)
        return any(_digits(p).encode() in digits for p in self.phones)

    def _matches(self, value: Any) -> bool:
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return value == self.customer_id
        if not isinstance(value, str):
            return False
        text = value.strip()
        if text == str(self.customer_id) or text.endswith(f"/Customer/{self.customer_id}"):
            return True
        if text.lower() in self.emails:
            return True
        digits = _digits(text)
        return len(digits) >= MIN_PHONE_DIGITS and any(_digits(p) == digits for p in self.phones)


def _scalars(document: Any) -> Iterator[Any]:
    if isinstance(document, dict):
        for value in document.values():
            yield from _scalars(value)
    elif isinstance(document, list):
        for value in document:
            yield from _scalars(value)
    else:
        yield document
