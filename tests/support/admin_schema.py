"""The real Admin GraphQL schema of the version the tests speak (shipped in app/devstore/),
built once per process and shared with the demo store's stand-in."""
from graphql import GraphQLSchema, parse

from app.devstore.schema import admin_schema_for, document_problems
from tests.support import API_VERSION


def admin_schema() -> GraphQLSchema:
    return admin_schema_for(API_VERSION)


def validation_errors(document: str) -> list[str]:
    """What Shopify would refuse in `document`, deprecated fields and arguments included."""
    return [e.message for e in document_problems(admin_schema(), parse(document))]
