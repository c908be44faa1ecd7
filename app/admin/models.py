"""AdminAction: the append-only record of what an admin (or the ``tracker`` CLI) changed."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, created_at, intpk


class AdminAction(Base):
    """One admin action: who, when, what, on what, and details that never hold a secret."""

    __tablename__ = "admin_action"

    id: Mapped[intpk]
    at: Mapped[created_at] = mapped_column(index=True)
    # The admin's username, or "cli" for the tracker command.
    actor: Mapped[str] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(64))
    target: Mapped[str] = mapped_column(sa.String(200))
    # The office the target belongs to, if any: an admin's log shows their offices' rows.
    office_id: Mapped[int | None] = mapped_column(sa.ForeignKey("office.id"), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    def __repr__(self) -> str:
        return f"<AdminAction {self.id} {self.action} {self.target}>"
