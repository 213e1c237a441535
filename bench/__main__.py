"""`python -m bench` (`make bench`): run every benchmark and update docs/PERFORMANCE.md."""

from __future__ import annotations

import sys

from bench import (
    bot_bench,
    chat_bench,
    indexing_bench,
    knowledge_bench,
    latency_bench,
    portal_bench,
    reminders_bench,
    summary_bench,
    usage_bench,
)


def main(argv: list[str]) -> int:
    wanted = set(argv) or {
        "bot",
        "portal",
        "chat",
        "latency",
        "usage",
        "summary",
        "knowledge",
        "indexing",
        "reminders",
    }
    if "bot" in wanted:
        print(bot_bench.run())
    if "portal" in wanted:
        print(portal_bench.run())
    if "chat" in wanted:
        print(chat_bench.run())
    if "latency" in wanted:
        print(latency_bench.run())
    if "usage" in wanted:
        print(usage_bench.run())
    if "summary" in wanted:
        print(summary_bench.run())
    if "knowledge" in wanted:
        print(knowledge_bench.run())
    if "indexing" in wanted:
        print(indexing_bench.run())
    if "reminders" in wanted:
        print(reminders_bench.run())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
