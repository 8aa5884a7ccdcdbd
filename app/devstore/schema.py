"""The real Admin GraphQL schema the stand-in (and the test stub) checks every request against.

Shopify's SDL for each version we serve ships gzipped beside this module
(`admin-schema-<version>.graphql.gz`, ~0.6 MB instead of 3.7 MB), so a clone alone runs the demo
store and the tests. DEVSTORE_ADMIN_SCHEMA (a `.graphql` or `.graphql.gz` file) points elsewhere,
e.g. at a newer version's schema while trying it out.

Validation is as strict as Shopify's: a document (or a variable's input object) that uses a
deprecated field or argument is refused like an unknown one, because Shopify removes deprecated
fields in a later version and our documents must survive the next upgrade.
"""
from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path
from typing import Any

from graphql import (DocumentNode, GraphQLInputObjectType, GraphQLList, GraphQLNonNull, GraphQLSchema,
                     OperationDefinitionNode, build_schema, specified_rules, type_from_ast, validate)
from graphql.validation import NoDeprecatedCustomRule

SCHEMA_DIR = Path(__file__).resolve().parent
VALIDATION_RULES = (*specified_rules, NoDeprecatedCustomRule)


class AdminSchemaMissing(RuntimeError):
    pass


def schema_file_name(api_version: str) -> str:
    return f"admin-schema-{api_version}.graphql.gz"


def shipped_versions() -> list[str]:
    return sorted(p.name.removeprefix("admin-schema-").removesuffix(".graphql.gz")
                  for p in SCHEMA_DIR.glob("admin-schema-*.graphql.gz"))


def locate_admin_schema(api_version: str, explicit: str | None = None) -> Path:
    if explicit:
        if Path(explicit).is_file():
            return Path(explicit)
        raise AdminSchemaMissing(f"DEVSTORE_ADMIN_SCHEMA={explicit} is not a file; point it at Shopify's Admin "
                                 f"schema for {api_version} (SDL, plain or gzipped), or unset it.")
    candidate = SCHEMA_DIR / schema_file_name(api_version)
    if candidate.is_file():
        return candidate
    raise AdminSchemaMissing(
        f"The demo store has no Admin API schema for {api_version}: it ships {', '.join(shipped_versions())} in "
        f"app/devstore/. Set SHOPIFY_API_VERSION to one of those, or DEVSTORE_ADMIN_SCHEMA=/path/to/schema.graphql.")


def admin_schema_for(api_version: str, explicit: str | None = None) -> GraphQLSchema:
    return load_admin_schema(locate_admin_schema(api_version, explicit))


@lru_cache(maxsize=2)
def load_admin_schema(path: Path) -> GraphQLSchema:
    """Built once per process (about a second for 3.7 MB of SDL)."""
    raw = Path(path).read_bytes()
    text = gzip.decompress(raw).decode() if raw[:2] == b"\x1f\x8b" else raw.decode()
    # assume_valid: Shopify's schema breaks one of graphql-core's own schema rules (an interface
    # field's deprecation); validating documents against it still works.
    return build_schema(text, assume_valid=True)


def document_problems(schema: GraphQLSchema, document: DocumentNode) -> list:
    """GraphQLErrors for an unknown, misused or deprecated field or argument in the document."""
    return validate(schema, document, VALIDATION_RULES)


def deprecated_input_fields(schema: GraphQLSchema, operation: OperationDefinitionNode,
                            variables: dict[str, Any]) -> list[str]:
    """Deprecated input-object fields set through variables, which NoDeprecatedCustomRule (a
    rule about the document's text) cannot see: `customerSelection` sent as a variable is as
    deprecated as one written inline."""
    problems: list[str] = []
    for definition in operation.variable_definitions or []:
        name = definition.variable.name.value
        if name in variables:
            _walk(type_from_ast(schema, definition.type), variables[name], f"${name}", problems)
    return problems


def _walk(input_type: Any, value: Any, path: str, problems: list[str]) -> None:
    while isinstance(input_type, GraphQLNonNull):
        input_type = input_type.of_type
    if isinstance(input_type, GraphQLList):
        for index, item in enumerate(value if isinstance(value, list) else [value]):
            _walk(input_type.of_type, item, f"{path}[{index}]", problems)
    elif isinstance(input_type, GraphQLInputObjectType) and isinstance(value, dict):
        for key, item in value.items():
            field = input_type.fields.get(key)
            if field is None:
                continue  # unknown fields are reported by variable coercion
            if field.deprecation_reason:
                problems.append(f"The input field {input_type.name}.{key} (at {path}.{key}) is deprecated. "
                                f"{field.deprecation_reason}")
            _walk(field.type, item, f"{path}.{key}", problems)
