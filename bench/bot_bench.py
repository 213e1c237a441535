"""The bot benchmark (issue 4): latency against a same-run baseline, concurrency, memory."""

from __future__ import annotations

import asyncio

from bench.measure import (
    MAKESPAN_REPLY,
    baseline_and_bot_latency,
    concurrent_makespan,
    one_second_model,
    rss_after_conversations,
)
from bench.report import machine, write_section
from bench.stack import BenchStack, bench_stack, model_process


def _overlap(makespan: float, floor: float) -> str:
    extra = makespan - floor
    if extra <= 1.0:
        return (
            f"(c) − (c0) = {extra:.2f} s, less than the 1 s the model takes: the model's second overlaps "
            "the homeserver's work, and no answer waits for another in the bot."
        )
    return f"(c) − (c0) = {extra:.2f} s: the bot adds {(extra - 1.0) * 1000:.0f} ms beyond model time."


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


async def _measure(stack: BenchStack, rounds: int, conversations: int):  # type: ignore[no-untyped-def]
    baseline, bot = await baseline_and_bot_latency(stack, rounds)
    rss_before, rss_after = await rss_after_conversations(stack, conversations)
    return baseline, bot, rss_before, rss_after


def run(rounds: int = 60, conversations: int = 1000) -> str:
    with bench_stack() as stack:
        baseline, bot, rss_before, rss_after = asyncio.run(_measure(stack, rounds, conversations))
    # The model serves all 20 at once (as the double does), and the bot is told so.
    everyone = {"OLLAMA_PARALLEL": "20"}
    with model_process(MAKESPAN_REPLY, 0.0, 0.0) as model_url, bench_stack(model_url, **everyone) as stack:
        floor = min(asyncio.run(concurrent_makespan(stack)) for _ in range(3))
    with model_process(*one_second_model()) as model_url, bench_stack(model_url, **everyone) as stack:
        makespan = min(asyncio.run(concurrent_makespan(stack)) for _ in range(3))
    median_target = 2 * baseline.median_ms + 15
    p90_target = 2 * baseline.p90_ms + 40
    body = f"""
## Bot (issue 4)

Machine: {machine()}.

| measure | median | p90 | target | |
|---|---|---|---|---|
| (a) baseline: user-to-user message seen by the other user | {baseline.median_ms:.1f} ms | {baseline.p90_ms:.1f} ms | | |
| (b) `@bot` question to first visible answer text (instant model) | {bot.median_ms:.1f} ms | {bot.p90_ms:.1f} ms | median ≤ {median_target:.1f} ms, p90 ≤ {p90_target:.1f} ms | {_verdict(bot.median_ms <= median_target and bot.p90_ms <= p90_target)} |

- Ratio (b)/(a): {bot.median_ms / baseline.median_ms:.2f}× at the median, {bot.p90_ms / baseline.p90_ms:.2f}× at p90 \
({rounds} rounds each, interleaved, after 3 warm-up rounds). An answer needs two hops, so 2× is the floor.
- (c) 20 users, each in their AI chat, asking at the same moment, model taking 1 s per answer (in its own \
process): all complete after **{makespan:.2f} s** (best of 3 runs; target ≤ 1.5 s: {_verdict(makespan <= 1.5)}).
  - (c0) Same-run baseline: the same burst with a model that answers at once takes {floor:.2f} s. \
That is what the homeserver alone needs on this machine for 20 questions, their answers (first text \
and final edit), typing notices and everyone's syncs; no bot can finish the burst sooner. \
{_overlap(makespan, floor)}
- (d) bot RSS: {rss_before:.0f} MB at start, **{rss_after:.0f} MB after {conversations} conversations** \
(target < 200 MB: {_verdict(rss_after < 200)}).
"""
    write_section("bot", body)
    return body


def main() -> None:
    print(run())


if __name__ == "__main__":
    main()
