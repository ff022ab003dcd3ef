"""The small HTTP server of ``cratebot serve`` (health, signed downloads); the whole
server is assembled in :mod:`bot.server`."""
