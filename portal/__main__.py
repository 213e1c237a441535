"""`python -m portal`: serve the portal on PORTAL_HOST:PORTAL_PORT."""

from __future__ import annotations

import os
import sys

from aiohttp import web

from common import logs
from common.env import settings_or_exit
from portal.app import create_app
from portal.config import PortalSettings


def main() -> int:
    os.umask(0o077)  # what the portal writes (uploads in progress, secrets) is its own
    env, settings = settings_or_exit(PortalSettings.from_env)
    logs.configure(env, settings.log_level)
    web.run_app(create_app(settings), host=settings.host, port=settings.port, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
