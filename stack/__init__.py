"""The launcher behind `make run`: renders Synapse's config, bootstraps accounts and
rooms, and supervises Synapse, the bot and the portal."""
