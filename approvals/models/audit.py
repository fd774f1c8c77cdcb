from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """One append-only audit record: a decision, a policy change or an override.

    `mac` (HMAC-SHA256 with AUDIT_HMAC_KEY, approvals.audit) covers this row's content and the
    previous row's MAC, so editing or deleting any row breaks the chain from there on, and
    anchors kept outside the table catch a deleted tail (`manage.py audit_verify`). A trigger
    refuses UPDATE and DELETE except the NULLing of `actor` when a user is deleted.
    """

    seq = models.PositiveBigIntegerField(unique=True)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(
        max_length=150,
        help_text="the username at the time, MACed and kept if the user is deleted; 'system' for clocks",
    )
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=100)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    prev_mac = models.CharField(max_length=64)
    mac = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"audit {self.seq}: {self.actor_name} {self.action} {self.object_type} {self.object_id}"
