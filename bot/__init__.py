"""CrateBot front-ends (CLI, terminal chat, Discord, Telegram) and the command layer."""
