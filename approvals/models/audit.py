from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """One append-only audit record: a decision, a policy change or an override.

    `hash` covers this row's content and the previous row's hash, so editing or deleting
    any row breaks the chain from there on (`manage.py audit_verify`).
    """

    seq = models.PositiveBigIntegerField(unique=True)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(
        max_length=150, help_text="kept if the user is deleted; 'system' for clocks"
    )
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=100)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"audit {self.seq}: {self.actor_name} {self.action} {self.object_type} {self.object_id}"
