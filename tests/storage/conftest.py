"""Storage tests run on both database backends, like the runner's."""

from tests.runner.conftest import backend, settings  # noqa: F401 (fixtures)
