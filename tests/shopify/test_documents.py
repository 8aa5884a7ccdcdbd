"""Every GraphQL document Tessera sends validates against the real Admin schema (2025-01)."""
import pytest

from app.shopify.documents import ALL_DOCUMENTS
from tests.support.admin_schema import validation_errors


@pytest.mark.parametrize("document", ALL_DOCUMENTS, ids=lambda d: d.name)
def test_document_is_valid_against_the_admin_schema(document):
    assert validation_errors(document.text) == []


def test_documents_have_unique_operation_names_matching_their_text():
    names = [d.name for d in ALL_DOCUMENTS]
    assert len(names) == len(set(names))
    for document in ALL_DOCUMENTS:
        assert f" {document.name}" in document.text.split("{")[0]


def test_a_document_using_a_later_api_field_would_be_caught():
    later_only = "mutation { discountCodeBasicCreate(basicCodeDiscount: {context: {all: ALL}}) { userErrors { message } } }"
    assert validation_errors(later_only)
