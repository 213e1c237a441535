"""What the portal chat says to people, in one place."""

from __future__ import annotations

SESSION_ENDED = "Your session ended. Log in again."
LOG_IN_TO_CHAT = "Log in to chat."
HOMESERVER_UNREACHABLE = "The chat server is unreachable right now. Try again in a moment."
NOT_JSON = "The request was not valid JSON."
NOT_A_JSON_OBJECT = "The request was not a JSON object."
NOT_A_ROOM_ID = "That is not a room id."
NO_TRANSACTION_ID = "The message had no valid transaction id."
EMPTY_MESSAGE = "Write something before sending."
TOO_LONG = "That message is too long ({length:,} characters; the limit is {limit:,})."
ENCRYPTED_ROOM = (
    "This chat is end-to-end encrypted, and the portal holds no keys: write here from a "
    "Matrix client such as Element."
)
TYPING_FLAG = "Say whether you are typing."
NOT_AN_EVENT_ID = "That is not an event id."
CHOOSE_A_ROOM = "Choose a room to join."
ENTER_A_USERNAME = "Enter a username, like alice."
THAT_IS_YOU = "That is you. Choose someone else to chat with."
NO_SUCH_USER = "There is no user called {name} here."
TOO_MANY_TABS = "Too many chat tabs are open; close some and reload."
