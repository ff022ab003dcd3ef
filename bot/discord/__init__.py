"""Discord front-end (discord.py slash commands): see frontend.run_discord."""
