import pytest


@pytest.fixture
def migration_roles():
    """Make sure the role groups (migration data) exist in a transactional test.

    In a full run, a transactional test that follows a ``live_server`` test (after earlier
    non-transactional tests) finds the serialized migration data not restored; writing the
    roles again is idempotent and harmless when they are already there.
    """
    from django.apps import apps

    from clinic.roles import sync_roles

    sync_roles(apps)
