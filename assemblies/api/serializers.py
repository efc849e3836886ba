"""The shapes of the entity endpoints' answers, for the OpenAPI document.

Rows never render through these serializers: the views read them as tuples
(``Representation.tuples``), which is much faster. The serializers describe the same fields,
derived from the same ``Representation``, so the document cannot drift from the answers.
"""

from __future__ import annotations

from typing import ClassVar

from rest_framework import serializers

from ..cascade import CASCADES
from ..selectors import Representation
from .entities import READ_ENTITIES


# One row as its ``representation`` shows it (read-only). A subclass names the representation,
# and ``detail = True`` for the detail answer; the fields follow from it: the representation's
# keys (with ``company_guid`` and the parents' ``<name>_guid`` as UUIDs), then for a detail the
# picture (base64) and the active child counts. (A comment, not a docstring: drf-spectacular
# would copy a docstring into every entity's schema as its description.)
class EntitySerializer(serializers.ModelSerializer):
    representation: ClassVar[Representation]
    detail: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        representation = cls.representation
        row_model = representation.model
        declared = {"company_guid": serializers.UUIDField()}
        declared.update({f"{name}_guid": serializers.UUIDField(allow_null=True) for name in representation.parents})
        names = list(representation.keys)
        if cls.detail:
            if representation.has_picture:
                declared["picture"] = serializers.CharField(allow_null=True, help_text="base64, padded")
                names.append("picture")
            for child, _link in CASCADES[row_model]:
                name = f"{child._meta.model_name}_count"
                declared[name] = serializers.IntegerField(help_text=f"Active {child._meta.verbose_name_plural}.")
                names.append(name)
        # The metaclass has collected the fields declared in the class body; add the derived ones.
        cls._declared_fields = {**declared, **cls._declared_fields}

        class Meta:
            model = row_model
            fields = names
            read_only_fields = names

        cls.Meta = Meta


class ProjectSerializer(EntitySerializer):
    representation = READ_ENTITIES["projects"].representation


class ProjectDetailSerializer(EntitySerializer):
    representation = READ_ENTITIES["projects"].representation
    detail = True


class ComponentSerializer(EntitySerializer):
    representation = READ_ENTITIES["components"].representation


class ComponentDetailSerializer(EntitySerializer):
    representation = READ_ENTITIES["components"].representation
    detail = True


class AssemblySerializer(EntitySerializer):
    representation = READ_ENTITIES["assemblies"].representation


class AssemblyDetailSerializer(EntitySerializer):
    representation = READ_ENTITIES["assemblies"].representation
    detail = True


class PieceSerializer(EntitySerializer):
    representation = READ_ENTITIES["pieces"].representation


class PieceDetailSerializer(EntitySerializer):
    representation = READ_ENTITIES["pieces"].representation
    detail = True


class ArticleSerializer(EntitySerializer):
    representation = READ_ENTITIES["articles"].representation


class ArticleDetailSerializer(EntitySerializer):
    representation = READ_ENTITIES["articles"].representation
    detail = True
