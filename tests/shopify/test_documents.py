"""Every GraphQL document Tessera sends validates against the real Admin schema of the configured
version, with no deprecated field or argument (Shopify removes those in a later version)."""
import pytest
from graphql import parse, specified_rules, validate
from graphql.validation import NoDeprecatedCustomRule

from app.shopify.documents import ALL_DOCUMENTS, bulk_orders_query
from tests.support.admin_schema import admin_schema, validation_errors

STRICT_RULES = [*specified_rules, NoDeprecatedCustomRule]


@pytest.mark.parametrize("document", ALL_DOCUMENTS, ids=lambda d: d.name)
def test_document_is_valid_against_the_admin_schema_and_uses_nothing_deprecated(document):
    assert [e.message for e in validate(admin_schema(), parse(document.text), STRICT_RULES)] == []


def test_the_bulk_orders_query_uses_nothing_deprecated():
    assert [e.message for e in validate(admin_schema(), parse(bulk_orders_query("2026-01-01")), STRICT_RULES)] == []


def test_documents_have_unique_operation_names_matching_their_text():
    names = [d.name for d in ALL_DOCUMENTS]
    assert len(names) == len(set(names))
    for document in ALL_DOCUMENTS:
        assert f" {document.name}" in document.text.split("{")[0]


@pytest.mark.parametrize("deprecated", [
    "mutation { discountCodeBasicCreate(basicCodeDiscount: {customerSelection: {all: true}}) { userErrors { message } } }",
    "{ customers(first: 1) { nodes { email } } }",
    "{ customers(first: 1) { nodes { defaultPhoneNumber { marketingState } } } }",
    "{ currentBulkOperation(type: QUERY) { id } }",
    "{ webhookSubscriptions(first: 1) { nodes { callbackUrl } } }",
], ids=["customerSelection", "Customer.email", "phone marketingState", "currentBulkOperation", "callbackUrl"])
def test_a_document_using_a_deprecated_field_is_caught(deprecated):
    assert any("deprecated" in message for message in validation_errors(deprecated))


def test_a_document_using_a_field_the_version_does_not_have_is_caught():
    assert validation_errors("{ shop { loyaltyPointsBalance } }")
