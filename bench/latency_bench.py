"""The bot-latency benchmark (issue 13): `python -m bench latency`. One Synapse, one run:
the floor and the first text of an answer against ollamarama-matrix, the burst against
the ideal bot and ollamarama-matrix, homeserver writes per answer and where the time of
an answer goes, and the model tier at scale. Written to docs/PERFORMANCE.md."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import aiohttp
from nio import RoomCreateResponse, RoomPreset

from bench import burst, first_text, latency_report, ollamarama, scale, writes
from bench.answers import shown_body
from bench.counting_proxy import CountingProxy
from bench.ideal_bot import ideal_bot
from bench.latency_report import Figures, Sizes
from bench.measure import MAKESPAN_REPLY, rss_mb
from bench.report import write_section
from bench.stack import BenchStack, bench_stack, model_process, restart_bot
from common.synapse_admin import register_user
from tests.matrix_user import Event, MatrixUser

INSTANT_REPLY = "Pong: the model answered at once."
THREE_S_REPLY = " ".join(f"t{i}" for i in range(30))
FIRST_CHUNK_S = 0.1  # the streaming models' first words; the rest come 0.1 s apart


@dataclass(frozen=True)
class Models:
    instant: str
    one_second: str  # first words after 0.1 s, done at 1.0 s
    one_second_whole: str  # the same answer to a client that does not stream: all at 1.0 s
    three_seconds: str  # first words after 0.1 s, done at 3.0 s
    tier: str  # the 1 s model, serving `parallel` requests at a time


@contextlib.contextmanager
def models(parallel: int) -> Iterator[Models]:
    step = FIRST_CHUNK_S
    with (
        model_process(INSTANT_REPLY, 0.0, 0.0) as instant,
        model_process(MAKESPAN_REPLY, step, step) as one_second,
        model_process(MAKESPAN_REPLY, 1.0, 0.0) as whole,
        model_process(THREE_S_REPLY, step, step) as three,
        model_process(MAKESPAN_REPLY, step, step, parallel=parallel) as tier,
    ):
        yield Models(instant, one_second, whole, three, tier)


async def _first_text(stack: BenchStack, models: Models, rounds: int, figures: Figures) -> None:
    synapse = stack.synapse
    alice = await MatrixUser.register(synapse, "alice")
    bob = await MatrixUser.register(synapse, "bob")
    public = await alice.join(f"#public:{synapse.server_name}")
    await bob.join(public)
    created = await alice.client.room_create(preset=RoomPreset.public_chat, name="ollamarama")
    assert isinstance(created, RoomCreateResponse), created
    rooms = first_text.Rooms(public, created.room_id)
    bot_id = synapse.provisioned.bot_user_id
    try:
        peer = await ollamarama.register(synapse)
        async with ollamarama.running(
            synapse, peer, models.instant, [created.room_id], alice, stack.data_dir / "olr-1"
        ):
            figures.first = await first_text.measure(alice, bob, bot_id, peer, rooms, INSTANT_REPLY, rounds)
    except ollamarama.PeerUnavailable as problem:
        figures.peer_problem = str(problem)
        figures.first = await first_text.measure(alice, bob, bot_id, None, rooms, INSTANT_REPLY, rounds)
    finally:
        await alice.close()
        await bob.close()


def _completes(bot_id: str) -> Callable[[Event], bool]:
    return lambda event: event.get("sender") == bot_id and MAKESPAN_REPLY in shown_body(event)


async def _bursts(stack: BenchStack, models: Models, people: int, runs: int, figures: Figures) -> None:
    synapse = stack.synapse
    bot_id = synapse.provisioned.bot_user_id
    # The burst's model serves everyone at once, and the bot is told so.
    await asyncio.to_thread(
        restart_bot, stack, OLLAMA_BASE_URL=models.one_second, OLLAMA_PARALLEL=str(people)
    )
    async with aiohttp.ClientSession() as session:
        ideal = await register_user(
            session, synapse.url, synapse.shared_secret, "idealbot", "ideal bot pw 42"
        )
    ideal_runs, our_runs = [], []
    async with ideal_bot(synapse.url, ideal.user_id, ideal.access_token, MAKESPAN_REPLY, 1.0, stack.data_dir):
        for _ in range(runs):  # interleaved, so both see the same machine
            crowd = await burst.register_people(synapse, people, "ideal")
            rooms = await burst.chats_with(crowd, ideal.user_id)
            ideal_runs.append(await burst.ask_at_once(crowd, rooms, _question, _completes(ideal.user_id), 60))
            await burst.close(crowd)
            crowd = await burst.register_people(synapse, people, "crowd")
            rooms = await burst.chats_with_our_bot(crowd, bot_id)
            our_runs.append(await burst.ask_at_once(crowd, rooms, _question, _completes(bot_id), 60))
            await burst.close(crowd)
    figures.ideal_bursts, figures.our_bursts = ideal_runs, our_runs
    if figures.peer_problem is None:
        await _peer_burst(stack, models, people, figures)


def _question(i: int) -> str:
    return f"question {i}"


async def _peer_burst(stack: BenchStack, models: Models, people: int, figures: Figures) -> None:
    synapse = stack.synapse
    crowd = await burst.register_people(synapse, people, "peerask")
    rooms = await burst.rooms_of_their_own(crowd)
    try:
        peer = await ollamarama.register(synapse, "ollamarama2")
        workdir = stack.data_dir / "olr-2"
        async with ollamarama.running(synapse, peer, models.one_second_whole, rooms, crowd[0], workdir):
            complete = lambda event: peer.is_answer(event, MAKESPAN_REPLY)  # noqa: E731
            figures.peer_burst = await burst.ask_at_once(
                crowd, rooms, lambda i: f"{ollamarama.PREFIX} question {i}", complete, 90
            )
    except ollamarama.PeerUnavailable as problem:
        figures.peer_burst_problem = str(problem)
    finally:
        await burst.close(crowd)


async def _writes(stack: BenchStack, models: Models, figures: Figures) -> None:
    synapse = stack.synapse
    bot_id = synapse.provisioned.bot_user_id
    with CountingProxy(synapse.url) as homeserver, CountingProxy(models.instant) as model:
        await asyncio.to_thread(restart_bot, stack, HOMESERVER_URL=homeserver.url, OLLAMA_BASE_URL=model.url)
        [person] = await burst.register_people(synapse, 1, "writer")
        [room] = await burst.chats_with_our_bot([person], bot_id)
        await writes.ask(person, room, bot_id, INSTANT_REPLY, 1, homeserver)  # warm-up
        instant, timelines = await writes.ask(person, room, bot_id, INSTANT_REPLY, 10, homeserver, model)
        model.target = models.one_second
        one_second, _ = await writes.ask(person, room, bot_id, MAKESPAN_REPLY, 5, homeserver)
        model.target = models.three_seconds
        three_seconds, _ = await writes.ask(person, room, bot_id, THREE_S_REPLY, 3, homeserver)
        await person.close()
        await asyncio.to_thread(
            restart_bot, stack, HOMESERVER_URL=synapse.url, OLLAMA_BASE_URL=models.instant
        )
    figures.writes = {"instant": instant, "1 s": one_second, "3 s": three_seconds}
    figures.timeline = writes.median_timeline(timelines)


async def _scale(stack: BenchStack, models: Models, sizes: Sizes, figures: Figures) -> None:
    synapse = stack.synapse
    made = await scale.make_rooms(synapse, sizes.rooms, sizes.per_room)
    names = ",".join(["public", "gallery", *(room.alias_name for room in made)])
    await asyncio.to_thread(
        restart_bot, stack, OLLAMA_BASE_URL=models.tier, OLLAMA_PARALLEL=str(sizes.parallel), BOT_ROOMS=names
    )
    assert stack.bot.process is not None
    figures.rss_start = rss_mb(stack.bot.process.pid)
    figures.scale = await scale.ask_at_once(made, synapse.provisioned.bot_user_id, MAKESPAN_REPLY, 300)
    figures.rss = rss_mb(stack.bot.process.pid)
    await scale.close(made)


async def _measure(stack: BenchStack, models: Models, sizes: Sizes) -> Figures:
    figures = Figures(sizes)
    await _first_text(stack, models, sizes.rounds, figures)
    await _bursts(stack, models, sizes.burst, sizes.burst_runs, figures)
    await _writes(stack, models, figures)
    await _scale(stack, models, sizes, figures)
    return figures


def run(sizes: Sizes | None = None) -> str:
    sizes = sizes or Sizes()
    with models(sizes.parallel) as tiers, bench_stack(tiers.instant) as stack:
        figures = asyncio.run(_measure(stack, tiers, sizes))
    body = latency_report.render(figures)
    write_section("bot-latency", body)
    return body
