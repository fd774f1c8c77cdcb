"""Reading detections: a session's taint for an approval card, and the console's list."""

from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from agents.models import Session
from injection.models import Detection
from injection.taint import session_facts

CARD_DETECTIONS = 5


def taint_snapshot(session: Session, *, unseen_addresses: list[str]) -> dict[str, Any]:
    """Why a session is suspect, kept on an action request as it was when the call came."""
    detections = Detection.objects.filter(session_id=session.pk).order_by("-created_at", "-id")
    return {
        **session_facts(session),
        "unseen_addresses": unseen_addresses,
        "detections": [
            {
                "source": detection.source,
                "detectors": detection.detectors,
                "score": detection.score,
                "snippet": detection.snippet,
                "action": detection.action,
                "created_at": detection.created_at.isoformat(),
            }
            for detection in detections[:CARD_DETECTIONS]
        ],
    }


def detections_filtered(
    *,
    source: str = "",
    detector: str = "",
    agent: str = "",
    action: str = "",
    since: datetime | None = None,
) -> QuerySet[Detection]:
    rows = Detection.objects.all()
    if source:
        rows = rows.filter(source=source)
    if detector:
        rows = rows.filter(detectors__contains=[detector])
    if agent:
        rows = rows.filter(agent_name=agent)
    if action:
        rows = rows.filter(action=action)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    return rows.order_by("-created_at", "-id")
