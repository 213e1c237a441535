"""Reminders: the sentence turned into a request by the model (`request`, as quoted data,
parsed strictly), the instants computed by pure code in a time zone (`timing`), what the
room is told (`messages`), a reminder set (`setter`), `!timezone`, `!reminders` and
`!cancel` (`commands`), and each due firing posted exactly once (`scheduler`)."""
