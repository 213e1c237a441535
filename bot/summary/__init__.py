"""Catch-up summaries: what `!summary` asks for (`request`), the room's history read
back (`source`) and parsed (`history_events`), what the asker could read
(`readable_history`), what the model sees and the room gets (`prompt`), and the summary
written (`summarizer`)."""
