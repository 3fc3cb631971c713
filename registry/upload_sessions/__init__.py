"""Upload sessions: sessions.py, the former registry/upload_sessions.py, moved whole so its history
follows; the next commit splits it into the package's parts."""

from registry.upload_sessions.sessions import *  # noqa: F403
from registry.upload_sessions.sessions import _HASHES  # noqa: F401
