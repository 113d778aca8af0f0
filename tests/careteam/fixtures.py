import importlib

import pytest


@pytest.fixture
def migration_data(transactional_db):
    """Roles, disciplines and outcome measures (migration data), put back when an earlier
    transactional test emptied the database and serialized_rollback did not restore it
    (seen with live_server and worker tests in one run; reported to the lead).
    Idempotent, so harmless when the data is there."""
    from django.apps import apps

    from clinic.roles import sync_roles

    sync_roles(apps)
    for app, module in (
        ("careteam", "0002_initial_disciplines"),
        ("arcs", "0002_initial_outcome_measures"),
    ):
        migration = importlib.import_module(f"{app}.migrations.{module}")
        migration.Migration.operations[0].code(apps, None)
