"""The answers of the Eryxon MES sync endpoints, for the OpenAPI document.

The item serializers (the request bodies) are the engine's: ``sync.mes_items``.
"""

from __future__ import annotations

from rest_framework import serializers


class MesErrorDetailSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="Dotted path inside the item, e.g. parts[0].operations[1].cell_name.")
    code = serializers.CharField()
    message = serializers.CharField()


class MesSingleResultSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["created", "updated", "unchanged"])
    id = serializers.UUIDField(help_text="The row's guid.")
    external_id = serializers.CharField()


class MesItemResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the item in the request.")
    external_id = serializers.CharField(allow_null=True)
    id = serializers.UUIDField(allow_null=True, help_text="The row's guid; null for an item in error.")
    action = serializers.ChoiceField(choices=["created", "updated", "unchanged", "error"])
    error = serializers.CharField(required=False, help_text="For action error: what is wrong, in a sentence.")
    details = MesErrorDetailSerializer(many=True, required=False)


class MesBulkResultSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    errors = serializers.IntegerField()
    results = MesItemResultSerializer(many=True)
