"""Django authentication backend for the admin: email in any case, active user of an active company."""

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import make_password

from .models import User

_DUMMY_PASSWORD_HASH = make_password("not-a-real-password")


class EmailBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        email = (username or kwargs.get("email") or "").strip().lower()
        if not email or password is None:
            return None
        user = User.objects.select_related("company").by_email(email).first()
        if user is None:
            User(password=_DUMMY_PASSWORD_HASH).check_password(password)  # same cost as a miss
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def user_can_authenticate(self, user) -> bool:
        return bool(user.is_active and user.company.is_active)

    def get_user(self, user_id):
        user = User.objects.select_related("company").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
