"""A runner in its own process, for the kill -9 recovery test.

Usage: python -m tests.runner.runner_process HOME
"""

from __future__ import annotations

import asyncio
import sys

from core.settings import load_settings
from storage.db import open_database
from tests.runner.helpers import make_runner


async def main(home: str) -> None:
    settings = load_settings(home=home)
    db = await open_database(settings.database_url)
    runner = make_runner(settings, db)
    await runner.start()
    print("ready", flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
