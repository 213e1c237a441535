"""The bot's parts, built once by `bot.__main__` and handed to the runner."""

from __future__ import annotations

import dataclasses

from nio import AsyncClient

from appdb.heartbeats import HeartbeatStore
from bot.conversation_queue import ConversationQueue
from bot.dispatch import Dispatcher
from bot.intake import Intake
from bot.ledger import EventLedger
from bot.matrix_io import MatrixIO
from bot.ollama_chat import Assistant
from bot.rate_limit import UserRateLimiter
from bot.reminders.scheduler import ReminderScheduler
from bot.room.member import RoomSide
from bot.sync_position import SyncPosition
from bot.undecryptable import UndecryptableTracker
from common.ollama_servers import OllamaServers


@dataclasses.dataclass
class BotParts:
    client: AsyncClient
    matrix: MatrixIO
    intake: Intake
    dispatcher: Dispatcher
    ledger: EventLedger
    limiter: UserRateLimiter
    tasks: ConversationQueue
    position: SyncPosition
    undecryptable: UndecryptableTracker
    heartbeats: HeartbeatStore
    servers: OllamaServers  # the model tier
    assistant: Assistant
    room: RoomSide | None = None  # personas and notes: told when a room's persona changes
    reminders: ReminderScheduler | None = None  # started after the first sync, stopped with the bot
