"""Telegram front-end (python-telegram-bot): see frontend.run_telegram."""
