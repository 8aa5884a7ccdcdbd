"""The real Admin GraphQL schema the stand-in checks every request against.

It ships in shared/shopify-reference beside the project (as for the tests), not in the repo;
DEVSTORE_ADMIN_SCHEMA (a file) or TESSERA_SHARED_DIR (the shared folder) point elsewhere.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from graphql import GraphQLSchema, build_schema

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class AdminSchemaMissing(RuntimeError):
    pass


def schema_file_name(api_version: str) -> str:
    return f"admin-schema-{api_version}.graphql"


def locate_admin_schema(api_version: str, explicit: str | None = None) -> Path:
    if explicit:
        if Path(explicit).is_file():
            return Path(explicit)
        raise AdminSchemaMissing(f"DEVSTORE_ADMIN_SCHEMA={explicit} is not a file; point it at "
                                 f"{schema_file_name(api_version)} from shared/shopify-reference.")
    shared_dirs = [os.environ.get("TESSERA_SHARED_DIR"), PROJECT_ROOT.parent / "shared", Path("/work/shared")]
    for shared in filter(None, shared_dirs):
        candidate = Path(shared) / "shopify-reference" / schema_file_name(api_version)
        if candidate.is_file():
            return candidate
    raise AdminSchemaMissing(
        f"The demo store needs Shopify's Admin API schema ({schema_file_name(api_version)}) to check Tessera's "
        f"requests, and found none in ../shared/shopify-reference/. Put the shared/ folder beside the project, "
        f"or set TESSERA_SHARED_DIR=/path/to/shared or DEVSTORE_ADMIN_SCHEMA=/path/to/{schema_file_name(api_version)}.")


@lru_cache(maxsize=2)
def load_admin_schema(path: Path) -> GraphQLSchema:
    # assume_valid: Shopify's schema breaks one of graphql-core's own schema rules (see
    # shared/shopify-reference/admin-graphql.md); validating documents against it still works.
    return build_schema(Path(path).read_text(), assume_valid=True)
