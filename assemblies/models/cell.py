from django.db import models

from .mes_base import MesEntity


def cell_name_key(name: str) -> str:
    """The one comparison of cell names: references by ``cell_name`` and live uniqueness.

    Full Unicode case folding, the same on every database (``Straße`` = ``STRASSE``, ``Σ`` = ``ς``).
    It is coarser than the database's backstop index (``AsciiLower``), so a name that index would
    refuse is refused by the sync engine first, as an item error.
    """
    return name.casefold()


class AsciiLower(models.Func):
    """``lower()`` of the ASCII letters only, identical on SQLite and PostgreSQL.

    SQLite's ``LOWER()`` folds ASCII only; PostgreSQL's folds by the database's locale (``İ`` → ``i``
    under C.UTF-8, which ``casefold`` keeps apart from ``i``), so an index on it could refuse a name
    the engine had accepted: a 409 that no retry fixes. In the "C" collation PostgreSQL folds
    ASCII only too, and every pair of names equal under this fold is equal under ``cell_name_key``.
    """

    function = "LOWER"
    output_field = models.CharField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, template='%(function)s((%(expressions)s) COLLATE "C")', **extra_context
        )


class Cell(MesEntity):
    """A work centre. Operations name it by name or by external id."""

    name = models.CharField(max_length=255)
    color = models.CharField(max_length=7, null=True, blank=True, help_text="#rrggbb, lower-case")
    sequence = models.IntegerField(default=0, help_text="display order")
    active = models.BooleanField(default=True, help_text="Eryxon's 'in use' flag; unrelated to soft delete")
    description = models.CharField(max_length=1000, null=True, blank=True)

    class Meta(MesEntity.Meta):
        constraints = [
            *MesEntity.Meta.constraints,
            # Among live cells only: a deleted cell's name may be taken again. A backstop: the sync
            # engine enforces the coarser cell_name_key under a per-company lock first.
            models.UniqueConstraint(
                "company",
                AsciiLower("name"),
                condition=models.Q(is_active=True),
                name="assemblies_cell_company_name_ci_uniq",
            ),
            models.CheckConstraint(condition=models.Q(sequence__gte=0), name="assemblies_cell_sequence_min_check"),
        ]

    def __str__(self) -> str:
        return self.name
