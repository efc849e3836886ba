import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from ..roles import ROLE_LEVELS, Role
from .base import TenantOwnedModel, TenantQuerySet
from .refresh_token import IssuedRefreshToken


class UserQuerySet(TenantQuerySet):
    def by_email(self, email: str) -> "UserQuerySet":
        """Match an email in any case, through the ``Lower(email)`` unique index."""
        return self.annotate(email_lower=Lower("email")).filter(email_lower=email.strip().lower())


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True

    def create_user(self, email, password=None, *, company, role=Role.OPERATOR, **fields):
        now = timezone.now()
        user = self.model(
            email=email.strip().lower(),
            company=company,
            role=role,
            created_at=now,
            updated_at=now,
            **fields,
        )
        user.set_password(password)
        user.save(using=self._db)
        return user


class User(AbstractBaseUser, PermissionsMixin, TenantOwnedModel):
    """A person (or an integration account) of one company. Logs in by email."""

    guid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=20, choices=Role.choices)
    name = models.CharField(max_length=100, null=True, blank=True)
    surname = models.CharField(max_length=100, null=True, blank=True)
    is_staff = models.BooleanField(default=False)

    objects = UserManager()
    # set_unusable_password() replaces the password without setting _password as set_password() does.
    _password_replaced = False

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="tenants_user_email_ci_uniq"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="tenants_user_role_check"),
        ]
        indexes = [models.Index(fields=["company", "is_active"], name="tenants_user_co_active_idx")]

    def __str__(self) -> str:
        return self.email

    @property
    def level(self) -> int:
        return ROLE_LEVELS[self.role]

    @property
    def is_system_admin(self) -> bool:
        return self.role == Role.SYSTEM_ADMIN

    def set_unusable_password(self):
        super().set_unusable_password()
        self._password_replaced = True

    def save(self, *args, **kwargs):
        """Save; a new password or a deactivation revokes every refresh token of the user.

        This is the one place that sees every such write: our services, the Django admin's
        password and change forms, ``manage.py changepassword`` and ``set_password()`` in a
        shell all end here. ``_password`` is set by ``set_password()`` (and cleared again by the
        hash upgrade at login, which is no password change). Revocation is in the same
        transaction as the change.
        """
        self.email = self.email.strip().lower()
        password_changed = self.pk is not None and (self._password is not None or self._password_replaced)
        self._password_replaced = False
        with transaction.atomic():
            super().save(*args, **kwargs)
            if password_changed or not self.is_active:
                IssuedRefreshToken.objects.filter(user=self).revoke()
