"""PostgreSQL only: an MES child and each of its parents belong to the same company.

As 0002 does for the Ractory tables: every MES parent table gets UNIQUE (company_id, id), and
every MES parent link a composite foreign key (company_id, <parent>_id) → parent (company_id, id).
SQLite cannot add such keys to existing tables; there the service's checks carry the guarantee
alone.
"""

from django.db import migrations

PARENT_TABLES = ["assemblies_job", "assemblies_part", "assemblies_cell"]
PARENT_LINKS = [
    ("assemblies_part", "job", "assemblies_job"),
    ("assemblies_operation", "part", "assemblies_part"),
    ("assemblies_operation", "cell", "assemblies_cell"),
]


def add_keys(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in PARENT_TABLES:
        schema_editor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_company_id_uniq UNIQUE (company_id, id)")
    for table, parent, parent_table in PARENT_LINKS:
        schema_editor.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {table}_{parent}_same_company_fk "
            f"FOREIGN KEY (company_id, {parent}_id) REFERENCES {parent_table} (company_id, id) "
            "DEFERRABLE INITIALLY DEFERRED"
        )


def drop_keys(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, parent, _ in PARENT_LINKS:
        schema_editor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {table}_{parent}_same_company_fk")
    for table in PARENT_TABLES:
        schema_editor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {table}_company_id_uniq")


class Migration(migrations.Migration):
    dependencies = [("assemblies", "0004_mes_entities")]
    operations = [migrations.RunPython(add_keys, drop_keys)]
