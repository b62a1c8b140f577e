"""Workstreams, found by slug the way people type them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Workstream


def match(session: Session, text: str) -> Workstream | None:
    """A slug, case-insensitively, or a unique prefix of one."""
    needle = text.strip().lower()
    if not needle:
        return None
    workstreams = list(session.scalars(select(Workstream).order_by(Workstream.slug)))
    exact = [w for w in workstreams if w.slug == needle]
    if exact:
        return exact[0]
    prefixed = [w for w in workstreams if w.slug.startswith(needle)]
    return prefixed[0] if len(prefixed) == 1 else None
