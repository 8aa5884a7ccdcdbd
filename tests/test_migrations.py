"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.models import Base

pytestmark = pytest.mark.both_backends

HEAD = "0003_privacy"  # the newest migration


def test_migrated_database_matches_the_models(database_url):
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert diff == []


def test_every_table_but_shops_belongs_to_a_shop():
    for table in Base.metadata.sorted_tables:
        if table.name != "shops":
            assert "shop_id" in table.c and not table.c.shop_id.nullable, table.name


def test_upgrading_again_is_a_no_op_and_the_revision_is_recorded(database_url):
    """`make run` migrates on every start: the second run must find the schema up to date."""
    from app.schema import downgrade, upgrade
    upgrade(database_url)
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == HEAD
    downgrade(database_url, "0001")
    upgrade(database_url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == HEAD
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    engine.dispose()
