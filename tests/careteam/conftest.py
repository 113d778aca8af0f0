from tests.careteam.fixtures import migration_data  # noqa: F401
