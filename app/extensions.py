"""Unbound extensions, bound to the app in create_app."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

# Only the public lookup is limited; staff and devices are authenticated and trusted.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
