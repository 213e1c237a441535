"""`python -m tests.services postgres redis`: exit 0 when those local services answer."""

from __future__ import annotations

import socket
import sys

ADDRESSES = {"postgres": ("127.0.0.1", 5432), "redis": ("127.0.0.1", 6379)}


def reachable(name: str) -> bool:
    try:
        with socket.create_connection(ADDRESSES[name], timeout=2):
            return True
    except OSError:
        return False


if __name__ == "__main__":
    missing = [name for name in sys.argv[1:] if not reachable(name)]
    if missing:
        print(f"not reachable: {', '.join(missing)}")
    sys.exit(1 if missing else 0)
