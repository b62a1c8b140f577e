"""The partnership itself: its name and its time zone."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.errors import UserError
from storage.models import Partnership


def get(session: Session) -> Partnership:
    partnership = session.scalar(select(Partnership).limit(1))
    if partnership is None:
        raise UserError(
            "No partnership is loaded yet: the engineer who runs partnerbot loads one with "
            "`partnerbot load FILE.yaml`. Nothing was changed."
        )
    return partnership


def zone(partnership: Partnership) -> ZoneInfo:
    return ZoneInfo(partnership.timezone)
