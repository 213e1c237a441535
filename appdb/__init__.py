"""The application database shared by the bot and the portal: schema and engine only."""
