"""PostgreSQL only: a child and each of its parents belong to the same company.

Every parent table gets UNIQUE (company_id, id), and every parent link a composite foreign key
(company_id, <parent>_id) → parent (company_id, id). SQLite cannot add such keys to existing
tables; there the service's checks carry the guarantee alone.
"""

from django.db import migrations

PARENT_TABLES = ["assemblies_project", "assemblies_component", "assemblies_assembly"]
PARENT_LINKS = [
    ("assemblies_component", "project", "assemblies_project"),
    ("assemblies_assembly", "project", "assemblies_project"),
    ("assemblies_assembly", "component", "assemblies_component"),
    ("assemblies_piece", "project", "assemblies_project"),
    ("assemblies_piece", "component", "assemblies_component"),
    ("assemblies_piece", "assembly", "assemblies_assembly"),
    ("assemblies_article", "project", "assemblies_project"),
    ("assemblies_article", "component", "assemblies_component"),
]


def add_keys(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in PARENT_TABLES:
        schema_editor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_company_id_uniq UNIQUE (company_id, id)")
    for table, parent, parent_table in PARENT_LINKS:
        # MATCH SIMPLE (the default) skips the check when the link is NULL (piece → assembly).
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
    dependencies = [("assemblies", "0001_initial")]
    operations = [migrations.RunPython(add_keys, drop_keys)]
