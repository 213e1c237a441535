"""Small helpers shared by the launcher, the bot and the portal: environment and secrets."""
