from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class IssuedRefreshTokenQuerySet(models.QuerySet):
    def live(self, now=None) -> "IssuedRefreshTokenQuerySet":
        """Tokens that may still refresh: not revoked, not expired."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=now or timezone.now())

    def revoke(self, now=None) -> int:
        """Revoke every token of the queryset not revoked yet; one UPDATE. Returns how many."""
        return self.filter(revoked_at__isnull=True).update(revoked_at=now or timezone.now())

    def purgeable(self, now=None) -> "IssuedRefreshTokenQuerySet":
        """Rows that can never refresh again and can be deleted (``purge_expired``).

        A token refreshes only while its row exists and is live, so deleting these changes nothing.
        """
        return self.filter(Q(expires_at__lte=now or timezone.now()) | Q(revoked_at__isnull=False))


class IssuedRefreshToken(models.Model):
    """A refresh token handed out at login or refresh, known by its id (``jti``) alone.

    The token itself is never stored, so a database dump holds no usable token: a row cannot be
    turned back into a token without the signing key, which is not in the database. A refresh
    token is accepted only while its row exists, is not revoked and has not expired (an
    allow-list), so revoking is one UPDATE and purging spent rows is one DELETE.
    """

    jti = models.CharField(max_length=64)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = IssuedRefreshTokenQuerySet.as_manager()

    class Meta:
        ordering = ["issued_at", "id"]
        constraints = [models.UniqueConstraint(fields=["jti"], name="tenants_issuedrefreshtoken_jti_uniq")]
        indexes = [models.Index(fields=["expires_at"], name="tenants_refreshtoken_exp_idx")]

    def __str__(self) -> str:
        return f"refresh token {self.jti} of user {self.user_id}"
