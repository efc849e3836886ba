"""The Django admin site, its login throttled like ``POST /api/v1/auth/login`` (tenants/login_throttle.py).

A refused admin login answers the admin's own login page with the reason as the form's error,
status 429 and ``Retry-After`` (docs/decisions.md), and its password is never checked.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError

from ractory.api.ratelimit import client_ip

from . import login_throttle


class ThrottledAdminLoginForm(AdminAuthenticationForm):
    refusal: login_throttle.LoginRefusal | None = None

    def clean(self):
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email is None or not password:  # Django's own "required" errors; no password to check
            return super().clean()
        self.refusal = login_throttle.refusal(email, client_ip(self.request))
        if self.refusal is not None:
            raise ValidationError(self.refusal.detail, code=login_throttle.REFUSAL_CODE)
        try:
            cleaned = super().clean()  # authenticates: the password hash happens here
        except ValidationError:
            login_throttle.record_failure(email)
            raise
        login_throttle.record_success(email)
        return cleaned


class ThrottledAdminSite(admin.AdminSite):
    login_form = ThrottledAdminLoginForm

    def login(self, request, extra_context=None):
        response = super().login(request, extra_context)
        form = (getattr(response, "context_data", None) or {}).get("form")
        refusal = getattr(form, "refusal", None)
        if refusal is not None:
            response.status_code = 429
            response["Retry-After"] = str(refusal.retry_after)
        return response
