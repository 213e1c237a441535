"""The assistant as a member of a room: the persona the room chose, the notes it asked
the assistant to remember, and who said what in the room's recent messages."""
