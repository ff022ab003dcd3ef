"""Imports every module that defines tables, so metadata is complete for Alembic."""

import contextlib
import importlib

import storage.models  # noqa: F401

# Feature tables live in their own modules; each is optional until its feature lands.
for _name in ("storage.library", "storage.analysis", "storage.pi_links", "storage.workers"):
    with contextlib.suppress(ModuleNotFoundError):
        importlib.import_module(_name)
