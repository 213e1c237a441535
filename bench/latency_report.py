"""The bot-latency section of docs/PERFORMANCE.md (issue 13): the figures of one run,
each beside its same-run baseline or ratio, and whether each target was met."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from bench.burst import BurstResult
from bench.first_text import WARM_UP_ROUNDS, FirstText
from bench.measure import Distribution
from bench.ollamarama import VERSION
from bench.report import machine
from bench.scale import ScaleResult
from bench.writes import Timeline, Writes


@dataclass(frozen=True)
class Sizes:
    rounds: int = 30
    burst: int = 20
    burst_runs: int = 3
    rooms: int = 10
    per_room: int = 10
    parallel: int = 4


@dataclass
class Figures:
    sizes: Sizes
    first: FirstText | None = None
    peer_problem: str | None = None  # why ollamarama-matrix could not be measured
    ideal_bursts: list[BurstResult] = field(default_factory=list)
    our_bursts: list[BurstResult] = field(default_factory=list)
    peer_burst: BurstResult | None = None
    peer_burst_problem: str | None = None
    writes: dict[str, Writes] = field(default_factory=dict)
    timeline: Timeline | None = None
    scale: ScaleResult | None = None
    rss_start: float = 0.0
    rss: float = 0.0


def verdict(ok: bool | None) -> str:
    return "not measurable" if ok is None else "met" if ok else "**missed**"


def _ms(d: Distribution) -> str:
    return f"{d.median_ms:.1f} ms | {d.p90_ms:.1f} ms"


def render(f: Figures) -> str:
    parts = [
        "## Bot latency, homeserver writes and the model tier (issue 13)",
        f"Machine: {machine()}. One Synapse (SQLite) for the whole run; the model is the Ollama "
        "double in processes of their own.",
        _first_text(f),
        _bursts(f),
        _writes(f),
        _timeline(f),
        _scale(f),
    ]
    return "\n\n".join(part for part in parts if part) + "\n"


def _first_text(f: Figures) -> str:
    t = f.first
    assert t is not None
    floor = t.floor_ms
    rows = [
        "### First text of an answer, against the floor and ollamarama-matrix",
        f"{f.sizes.rounds} rounds after {WARM_UP_ROUNDS} warm-up rounds, one after the other, with a model that "
        "answers at once; each round sends a plain message in `#public`, asks our bot there and "
        f"asks ollamarama-matrix {VERSION} in a room of its own (each answer complete before the next round).",
        "",
        "| measure | p50 | p90 |",
        "|---|---|---|",
        f"| sync hop: a plain message, seen by another user's long-poll sync | {_ms(t.hop)} |",
        f"| send round trip: the same message's `PUT …/send` → 200 | {_ms(t.send)} |",
        f"| **floor** = 2 × hop + 1 send (p50s) | {floor:.1f} ms | |",
        f"| our bot: `@bot` question → the asker's sync sees the answer's first words | {_ms(t.ours)} |",
    ]
    if t.peer_words and t.peer_first:
        rows += [
            f"| ollamarama-matrix: `.ai` question → the asker's sync sees the answer | {_ms(t.peer_words)} |",
            f'| ollamarama-matrix: → its first event, a "Thinking." placeholder | {_ms(t.peer_first)} |',
        ]
    ours = t.ours.median_ms
    rows += [
        "",
        f"- Target p50 ≤ floor + 10 ms = {floor + 10:.1f} ms: ours {ours:.1f} ms, {ours - floor:+.1f} ms "
        f"against the floor ({ours / floor:.2f}×): {verdict(ours <= floor + 10)}.",
        f"- The hop already holds a send: another user's sync sees a message once Synapse has stored it "
        f"(p50 hop − p50 send = {t.hop.median_ms - t.send.median_ms:+.1f} ms). A stricter floor is 2 × hop = "
        f"{2 * t.hop.median_ms:.1f} ms; ours is {ours - 2 * t.hop.median_ms:+.1f} ms above it.",
    ]
    if t.peer_words and t.peer_first:
        peer, first = t.peer_words.median_ms, t.peer_first.median_ms
        rows.append(
            f"- Target p50 ≤ 0.7 × ollamarama-matrix's p50 = {0.7 * peer:.1f} ms: ours/theirs = "
            f"{ours / peer:.2f}× ({verdict(ours <= 0.7 * peer)}); against its placeholder, which "
            f"carries no answer, {ours / first:.2f}×."
        )
    else:
        rows.append(f"- Target ≤ 0.7 × ollamarama-matrix's p50: {verdict(None)}: {f.peer_problem}.")
    return "\n".join(rows)


def _median_span(runs: list[BurstResult]) -> float | None:
    spans = [run.makespan_s for run in runs]
    done = [span for span in spans if span is not None]
    return statistics.median(done) if runs and len(done) == len(runs) else None


def _runs(runs: list[BurstResult]) -> str:
    return ", ".join(f"{r.makespan_s:.2f}" if r.makespan_s else f"{r.answered}/{r.asked}" for r in runs)


def _bursts(f: Figures) -> str:
    n = f.sizes.burst
    ideal, ours = _median_span(f.ideal_bursts), _median_span(f.our_bursts)
    rows = [
        f"### {n} people at once, a 1 s model",
        f"{n} people, each in a direct chat with the bot, ask at the same moment; the model writes its first "
        "words after 0.1 s and is done at 1.0 s. Makespan: from the sends until every asker's sync shows the "
        f"whole answer. Median of {len(f.our_bursts)} runs, ideal bot and ours interleaved, new people each run. "
        f"The model serves everyone at once, so our bot runs with `OLLAMA_PARALLEL={n}`.",
        "",
        "| bot | makespan | runs (s) | answered |",
        "|---|---|---|---|",
        f"| ideal bot (baseline: answers 1 s after its sync, one send) | {_s(ideal)} | {_runs(f.ideal_bursts)} "
        f"| {_answered(f.ideal_bursts)} |",
        f"| our bot | {_s(ours)} | {_runs(f.our_bursts)} | {_answered(f.our_bursts)} |",
    ]
    peer = f.peer_burst
    if peer is not None:
        last = f"last at {peer.last_answer_s:.2f} s" if peer.last_answer_s else "none"
        rows.append(
            f"| ollamarama-matrix (the same answer, all at 1.0 s: it does not stream) | "
            f"{_s(peer.makespan_s)} | {last} | {peer.answered}/{peer.asked} |"
        )
    ratio = ours / ideal if ours and ideal else None
    rows += [
        "",
        f"- Ours/ideal: {f'{ratio:.2f}×' if ratio else 'not measurable'} (target ≤ 1.1×: "
        f"{verdict(ratio <= 1.1 if ratio else None)}). The ideal bot's time beyond its 1 s wait, "
        f"{_s(ideal - 1.0 if ideal else None)}, is the homeserver's share on this machine.",
    ]
    if peer is None:
        rows.append(f"- ollamarama-matrix: not measured: {f.peer_burst_problem or f.peer_problem}.")
    else:
        rows.append(
            "- ollamarama-matrix answers one message at a time inside its sync callback, so a burst "
            "queues behind each answer's model time and writes."
        )
    return "\n".join(rows)


def _s(seconds: float | None) -> str:
    return f"{seconds:.2f} s" if seconds is not None else "not all answered"


def _answered(runs: list[BurstResult]) -> str:
    return ", ".join(f"{r.answered}/{r.asked}" for r in runs)


def _writes(f: Figures) -> str:
    labels = {
        "instant": "answers at once",
        "1 s": "first words at 0.1 s, done at 1.0 s (within the 1 s edit interval)",
        "3 s": "first words at 0.1 s, done at 3.0 s",
    }
    rows = [
        "### Homeserver writes per answer",
        "Counted by a proxy in front of Synapse (the bot's `HOMESERVER_URL`), questions one after the other "
        "in a direct chat, each answer's writes over before the next. Baseline: the ideal bot writes 1.",
        "",
        "| model | answers | writes per answer | by kind | target |",
        "|---|---|---|---|---|",
    ]
    for key, label in labels.items():
        w = f.writes.get(key)
        if w is None:
            continue
        target = f"1: {verdict(w.per_answer <= 1.0)}" if key != "3 s" else ""
        rows.append(f"| {label} | {w.answers} | {w.per_answer:.2f} | {w.by_kind()} | {target} |")
    return "\n".join(rows)


def _timeline(f: Figures) -> str:
    t = f.timeline
    if t is None:
        return ""
    steps = [
        ("Synapse hands the question to the bot's sync", t.bot_synced, 0.0),
        ("the bot asks the model (routing, records, memory, prompt)", t.model_asked, t.bot_synced),
        ("the model's first words are back", t.model_words, t.model_asked),
        ("the bot starts its first send", t.send_started, t.model_words),
        ("Synapse answers that send", t.send_done, t.send_started),
        ("the asker's sync shows the words", t.seen, t.send_done),
    ]
    rows = [
        "### Where an answer's time goes before its first send",
        "The same instant-model questions, with a second proxy in front of the model; medians of each "
        "step, in ms from the question's send (each proxy adds about 1 ms a call).",
        "",
        "| step | at | took |",
        "|---|---|---|",
        *(f"| {name} | {at * 1000:.1f} | {(at - since) * 1000:.1f} |" for name, at, since in steps),
        "",
        f"- The bot's own work: {(t.model_asked - t.bot_synced) * 1000:.1f} ms before it asks the model and "
        f"{(t.send_started - t.model_words) * 1000:.1f} ms from the first words to its send, "
        f"{(t.model_asked - t.bot_synced + t.send_started - t.model_words) / t.seen * 100:.0f}% of the "
        f"{t.seen * 1000:.1f} ms; the rest is the homeserver's two hops and one send, and the model.",
        f"- Before that send it wrote {', '.join(t.writes_before) or 'nothing else'} and read "
        f"{t.reads_before} times from the homeserver.",
    ]
    return "\n".join(rows)


def _scale(f: Figures) -> str:
    s, z = f.scale, f.sizes
    if s is None:
        return ""
    waits = s.waits
    # A 1 s answer is posted once, complete: the baseline is when answer k can be complete.
    fair_done = Distribution([(k // z.parallel) * 1.0 + 1.0 for k in range(s.asked)])
    rooms = [w for w in s.room_max_waits if not math.isnan(w)]
    rows = [
        "### The model tier at scale",
        f"{z.rooms} public rooms × {z.per_room} people; each asks `@bot` once, all at the same moment. The model "
        f"takes 1 s per answer (first words at 0.1 s) and serves {z.parallel} requests at a time, the rest "
        f"waiting in order inside it; the bot runs with `OLLAMA_PARALLEL={z.parallel}`. The baseline is the "
        f"tier's own schedule: answer k cannot start before ⌊k / {z.parallel}⌋ s.",
        "",
        "| measure | ours | the tier's schedule |",
        "|---|---|---|",
        f"| complete answers | {s.complete}/{s.asked} | {s.asked}/{s.asked} |",
        f"| each person got exactly one answer | {'yes' if s.one_answer_each else '**no**'} | yes |",
        f"| wait (question sent → the answer seen; a 1 s answer is posted once, complete), p50 | "
        f"{waits.median_ms / 1000:.2f} s | {fair_done.median_ms / 1000:.2f} s |",
        f"| wait, p90 | {waits.p90_ms / 1000:.2f} s | {fair_done.p90_ms / 1000:.2f} s |",
        f"| wait, max | {max(waits.samples):.2f} s | {max(fair_done.samples):.2f} s |",
        f"| all answers complete | {s.makespan:.2f} s | {math.ceil(s.asked / z.parallel):.2f} s |",
        "",
        f"- Per room, the longest wait: {min(rooms):.2f} s to {max(rooms):.2f} s (spread "
        f"{max(rooms) - min(rooms):.2f} s; {', '.join(f'{w:.1f}' for w in s.room_max_waits)}). The questions "
        f"are sent taking the rooms in turn, and Synapse stored each room's last one "
        f"{min(s.room_last_stored):.2f}–{max(s.room_last_stored):.2f} s after the first question; served in "
        f"that order, every room's longest wait would be within {math.ceil(z.rooms / z.parallel)} s of the others.",
        f"- Told their place while waiting (a notice the answer then replaced): {s.told_to_wait} of "
        f"{s.asked}; notices left as a separate message beside the answer: {s.notices}.",
        f"- Bot RSS: {f.rss_start:.0f} MB at start, {f.rss:.0f} MB after ({f.rss / f.rss_start:.2f}×; "
        f"target < 250 MB: {verdict(f.rss < 250)}).",
    ]
    return "\n".join(rows)
