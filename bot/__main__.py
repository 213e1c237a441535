"""`python -m bot`: build the bot's parts from settings and run until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from nio import AsyncClient, AsyncClientConfig
from sqlalchemy.ext.asyncio import AsyncEngine

from appdb.answers import AnswerStore
from appdb.conversations import ConversationStore
from appdb.engine import create_schema, make_engine
from appdb.heartbeats import HeartbeatStore
from appdb.knowledge import KnowledgeStore
from appdb.policy_store import PolicyStore
from appdb.reminders import Caps, ReminderStore
from appdb.room_notes import RoomNotesStore
from appdb.usage import UsageStore
from appdb.user_settings import UserSettingsStore
from bot.answering import Answerer, AnswerSettings
from bot.assistant_gate import AssistantGate
from bot.commands import CommandRunner
from bot.config import BotSettings
from bot.conversation_queue import ConversationQueue
from bot.crypto import store_key
from bot.dispatch import Dispatcher
from bot.fair_queue import FairQueue
from bot.intake import Intake
from bot.knowledge.commands import KnowledgeCommands
from bot.knowledge.embedder import Embedder
from bot.knowledge.extract import ExtractLimits
from bot.knowledge.extract_worker import Extractor
from bot.knowledge.indexer import Indexer, IndexSettings
from bot.knowledge.lookup import KnowledgeLookup
from bot.ledger import EventLedger
from bot.matrix_io import MatrixIO
from bot.model_writer import ModelWriter
from bot.ollama_chat import Assistant, ModelCatalogue, Timeouts
from bot.parts import BotParts
from bot.rate_limit import UserRateLimiter
from bot.reactions import Reactions
from bot.reminders.commands import ReminderCommands
from bot.reminders.scheduler import ReminderScheduler
from bot.reminders.setter import ReminderSetter
from bot.room.context import RECENT_MESSAGES, RECENT_PAGE, RecentMessages
from bot.room.member import RoomSide
from bot.room.notes import RoomNotes
from bot.room.persona import Personas
from bot.runner import BotRunner
from bot.summary.source import SUMMARY_MAX_PAGES, RoomHistory
from bot.summary.summarizer import NameBook, Summarizer, SummarySettings
from bot.sync_position import SyncPosition
from bot.undecryptable import UndecryptableTracker
from bot.values import BotIdentity
from common import logs
from common.env import settings_or_exit
from common.model_choice import ModelChoice
from common.ollama_servers import OllamaServers


def build_client(settings: BotSettings) -> AsyncClient:
    store_dir = settings.state_dir / "crypto"
    store_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return AsyncClient(
        settings.homeserver_url,
        settings.user_id,
        store_path=str(store_dir),
        config=AsyncClientConfig(
            encryption_enabled=True,
            max_timeout_retry_wait_time=10,
            request_timeout=45,
            pickle_key=store_key(settings.data_dir, store_dir),
        ),
    )


def build_parts(settings: BotSettings, engine: AsyncEngine) -> BotParts:
    client = build_client(settings)
    identity = BotIdentity(settings.user_id, settings.bot_username)
    matrix = MatrixIO(client)
    conversations = ConversationStore(engine, settings.history_window_messages)
    ledger = EventLedger(engine)
    servers = OllamaServers(settings.ollama_urls, settings.ollama_timeout)
    catalogue = ModelCatalogue(servers)
    assistant = Assistant(
        Timeouts(settings.ollama_first_token_timeout, settings.ollama_timeout), settings.max_context_tokens
    )
    policy = PolicyStore(engine, settings.policy_cache_s)
    gate = AssistantGate(policy, UsageStore(engine), matrix)
    models = ModelChoice(UserSettingsStore(engine), catalogue, settings.ollama_model, allow_list=policy)
    queue = FairQueue(servers, settings.ollama_parallel)
    knowledge = KnowledgeStore(engine)
    embedder = Embedder(queue, servers, settings.embed_model, settings.ollama_timeout)
    names = NameBook(client)
    room = RoomSide(
        Personas(matrix, settings.user_id),
        RoomNotes(RoomNotesStore(engine), matrix, names.name),
        RecentMessages(
            RoomHistory(client, RECENT_MESSAGES, 1, page=RECENT_PAGE, synced_view=True),
            names.name,
            settings.user_id,
        ),
        matrix,
        names.name,
    )
    reminder_store = ReminderStore(engine)
    scheduler = ReminderScheduler(reminder_store, matrix, settings.reminder_grace_s)
    commands = CommandRunner(
        catalogue,
        conversations,
        models,
        identity.localpart,
        gate,
        KnowledgeCommands(knowledge, matrix, settings.server_name),
        room,
        ReminderCommands(reminder_store, matrix, names.name, identity.localpart),
    )
    writer = ModelWriter(assistant, matrix, servers, queue, settings.ollama_model)
    answers = AnswerStore(engine)
    answer_settings = AnswerSettings(
        system_prompt=settings.system_prompt,
        max_context_tokens=settings.max_context_tokens,
        max_input_chars=settings.max_input_chars,
        edit_interval_s=settings.edit_interval_s,
        max_edits=settings.max_edits_per_answer,
        max_image_bytes=settings.max_image_bytes,
    )
    answerer = Answerer(
        answer_settings,
        catalogue,
        conversations,
        models,
        matrix,
        writer,
        gate,
        KnowledgeLookup(knowledge, embedder, matrix, settings.knowledge_min_score, settings.server_name),
        room,
        answers,
    )
    reactions = Reactions(answer_settings, answers, answerer, writer, matrix, gate)
    indexer = Indexer(
        IndexSettings(
            settings.knowledge_max_bytes,
            ExtractLimits(settings.knowledge_max_pages, settings.knowledge_max_chars),
            bot_localpart=identity.localpart,
        ),
        knowledge,
        matrix,
        Extractor(settings.knowledge_read_timeout_s, settings.knowledge_worker_mb),
        embedder,
    )
    summarizer = Summarizer(
        SummarySettings(settings.max_context_tokens, settings.edit_interval_s, settings.max_edits_per_answer),
        RoomHistory(client, settings.summary_max_messages, SUMMARY_MAX_PAGES),
        names,
        models,
        matrix,
        writer,
        gate,
        ledger,
        settings.user_id,
    )
    reminders = ReminderSetter(
        reminder_store,
        Caps(settings.reminders_per_room, settings.reminders_per_person),
        models,
        writer,
        matrix,
        gate,
        ledger,
        scheduler.wake,
        identity.localpart,
    )
    limiter = UserRateLimiter(settings.user_rate_limit)
    dispatcher = Dispatcher(
        answerer,
        summarizer,
        commands,
        matrix,
        ledger,
        identity.localpart,
        limiter.description,
        settings.catchup_window_s,
        indexer,
        reactions,
        reminders,
    )
    return BotParts(
        client=client,
        matrix=matrix,
        intake=Intake(identity, settings.catchup_window_s, settings.allowed_servers),
        dispatcher=dispatcher,
        ledger=ledger,
        limiter=limiter,
        tasks=ConversationQueue(),
        position=SyncPosition(settings.state_dir),
        undecryptable=UndecryptableTracker(settings.undecryptable_grace_s),
        heartbeats=HeartbeatStore(engine),
        servers=servers,
        assistant=assistant,
        room=room,
        reminders=scheduler,
    )


async def serve(settings: BotSettings) -> None:
    engine = make_engine(settings.database_url)
    await create_schema(engine)
    parts = build_parts(settings, engine)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await BotRunner(settings, parts).run(stop)
    finally:
        await parts.client.close()
        await engine.dispose()


def main() -> int:
    os.umask(0o077)  # what the bot writes (state, keys, logs) is its own
    env, settings = settings_or_exit(BotSettings.from_env)
    logs.configure(env, settings.log_level)
    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
