"""The stems tests' tiny Demucs models are reused for hostile files through ``stems``."""

from tests.stems.conftest import model_repo  # noqa: F401
