"""The real 2025-01 Admin GraphQL schema from shared/shopify-reference, built once per run."""
from functools import lru_cache

from graphql import GraphQLSchema, build_schema, parse, validate

from tests.support import reference_path


@lru_cache(maxsize=1)
def admin_schema() -> GraphQLSchema:
    # assume_valid: Shopify's schema breaks one of graphql-core's own schema rules
    # (see admin-graphql.md), which would otherwise raise before validating anything.
    return build_schema(reference_path("admin-schema-2025-01.graphql").read_text(), assume_valid=True)


def validation_errors(document: str) -> list[str]:
    return [e.message for e in validate(admin_schema(), parse(document))]
