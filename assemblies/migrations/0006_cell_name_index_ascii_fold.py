"""The live cell-name index folds ASCII letters only, the same on SQLite and PostgreSQL.

Before, PostgreSQL's ``lower()`` folded by the database's locale (``İ`` → ``i``) while the sync
engine compares names with ``casefold`` (``İ`` → ``i̇``): a name the engine accepted could trip
the index, a 409 that no retry fixed. Now the index is a backstop that tells more names apart than
the engine does: every pair it refuses, the engine has refused first. It accepts everything the
old index accepted, so stored data always fits it.
"""

import assemblies.models.cell
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('assemblies', '0005_mes_same_company_foreign_keys'),
        ('tenants', '0001_initial'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='cell',
            name='assemblies_cell_company_name_ci_uniq',
        ),
        migrations.AddConstraint(
            model_name='cell',
            constraint=models.UniqueConstraint(models.F('company'), assemblies.models.cell.AsciiLower('name'), condition=models.Q(('is_active', True)), name='assemblies_cell_company_name_ci_uniq'),
        ),
    ]
