"""The answers of the Ractory sync endpoints, for the OpenAPI document.

The item serializers (the request bodies) are the engine's: ``sync.items``.
"""

from __future__ import annotations

from rest_framework import serializers


class SyncItemResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the item in the request.")
    guid = serializers.UUIDField(allow_null=True, help_text="The row's guid (generated for new items).")
    action = serializers.ChoiceField(choices=["inserted", "updated", "unchanged", "error"])
    changes = serializers.DictField(required=False, help_text="dry_run only, for updates: {field: [stored, sent]}.")
    errors = serializers.ListField(child=serializers.DictField(), required=False, help_text="atomic=false only.")


class SyncResultSerializer(serializers.Serializer):
    inserted = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    errors = serializers.IntegerField(required=False, help_text="atomic=false only: items refused.")
    dry_run = serializers.BooleanField(required=False, help_text="Present (true) when nothing was written.")
    items = SyncItemResultSerializer(many=True)
