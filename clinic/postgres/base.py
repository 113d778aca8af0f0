"""Django's PostgreSQL backend, with its statements' parameter limit when binding server-side.

With ``server_side_binding`` (settings: ``DATABASE_PREPARED_STATEMENTS``) the parameters
travel apart from the SQL, and PostgreSQL's protocol takes at most 65,535 of them per
statement. Django 5.2 does not know that limit, so a ``bulk_create`` or ``bulk_update`` of
a whole clinic in one statement would fail. This backend gives Django the limit, and
Django splits those writes into batches that fit (Django fixed this after 5.2: ticket
36822).
"""

from django.db.backends.postgresql import base, features, operations
from django.utils.functional import cached_property

# The protocol sends the count of parameters as a 16-bit integer.
SERVER_SIDE_PARAMS = 2**16 - 1


class DatabaseFeatures(features.DatabaseFeatures):
    @cached_property
    def max_query_params(self) -> int | None:
        return SERVER_SIDE_PARAMS if self.uses_server_side_binding else None


class DatabaseOperations(operations.DatabaseOperations):
    def bulk_batch_size(self, fields, objs) -> int:
        limit = self.connection.features.max_query_params
        if limit is None or not fields:
            return len(objs)
        # bulk_update sends two parameters per field and row (CASE WHEN pk THEN value)
        # and passes its fields with two more; bulk_create sends one per field. Two per
        # field fits both.
        return max(limit // (2 * len(fields)), 1)


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
    ops_class = DatabaseOperations
