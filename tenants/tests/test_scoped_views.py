"""The tenant-scoped bases refuse, when the class is made, any get_queryset but their own."""

from __future__ import annotations

import pytest

from tenants.models import ApiKey
from tenants.scoping import TenantScopedAPIView, TenantScopedViewSet


class UnscopedQueryset:
    def get_queryset(self):
        return ApiKey.objects.all()


@pytest.mark.parametrize("base", [TenantScopedAPIView, TenantScopedViewSet])
def test_a_subclass_overriding_get_queryset_is_refused(base):
    with pytest.raises(TypeError, match="must refine_queryset"):

        class Overriding(base):
            model = ApiKey

            def get_queryset(self):
                return ApiKey.objects.all()


@pytest.mark.parametrize("base", [TenantScopedAPIView, TenantScopedViewSet])
def test_a_mixin_bringing_its_own_get_queryset_is_refused_too(base):
    with pytest.raises(TypeError, match="must refine_queryset"):

        class Mixed(UnscopedQueryset, base):
            model = ApiKey


@pytest.mark.parametrize("base", [TenantScopedAPIView, TenantScopedViewSet])
def test_a_subclass_refining_the_scoped_queryset_is_accepted(base):
    class Refining(base):
        model = ApiKey

        def refine_queryset(self, queryset):
            return queryset.order_by("id")

    assert Refining.get_queryset is TenantScopedAPIView.get_queryset
