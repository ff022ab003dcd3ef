"""The one configuration object, built once and passed down explicitly.

Sources, strongest first: keyword arguments (e.g. the CLI's ``--home``),
``CRATEBOT_*`` environment variables, the TOML file named by ``CRATEBOT_CONFIG``
(or ``$CRATEBOT_HOME/cratebot.toml`` when present), then the defaults below.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def _default_home() -> Path:
    return Path(os.environ.get("CRATEBOT_HOME") or Path.home() / ".cratebot").expanduser()


def _config_file() -> Path | None:
    explicit = os.environ.get("CRATEBOT_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    candidate = _default_home() / "cratebot.toml"
    return candidate if candidate.is_file() else None


class Settings(BaseSettings):
    """Every knob CrateBot has. Field ``foo`` is read from ``CRATEBOT_FOO``."""

    model_config = SettingsConfigDict(
        env_prefix="CRATEBOT_", extra="ignore", frozen=True, validate_default=True
    )

    # -- data -----------------------------------------------------------------
    home: Path = Field(default_factory=_default_home, description="Data folder")
    database_url: str = Field(
        default="", description="SQLAlchemy async URL; default SQLite in CRATEBOT_HOME"
    )

    # -- input limits ---------------------------------------------------------
    max_duration_s: float = Field(default=21600.0, gt=0, description="Longest accepted input")
    max_download_mb: float = Field(default=1024.0, gt=0, description="Largest accepted input")
    allow_private_urls: bool = Field(
        default=False, description="Allow URLs whose host resolves to a private address"
    )

    # -- results and jobs -----------------------------------------------------
    result_retention_days: float = Field(default=7.0, gt=0)
    max_queued_jobs_per_owner: int = Field(default=5, ge=1)
    job_max_attempts: int = Field(default=3, ge=1, description="Runs per job, retries included")
    concurrency_identify: int = Field(default=2, ge=1)
    concurrency_stems: int = Field(default=1, ge=1)
    concurrency_sections: int = Field(default=1, ge=1)
    timeout_identify_s: float = Field(default=3 * 3600, gt=0)
    timeout_stems_s: float = Field(default=6 * 3600, gt=0)
    timeout_sections_s: float = Field(default=2 * 3600, gt=0)

    # -- scale-out (Celery workers on a Redis broker) -------------------------
    broker_url: str = Field(
        default="",
        description="Celery broker, e.g. redis://127.0.0.1:6379/0; when set, front-ends "
        "only submit and `cratebot worker` processes run the jobs",
    )
    worker_heartbeat_s: float = Field(
        default=5.0, gt=0, description="How often a worker writes its heartbeat"
    )
    worker_dead_after_s: float = Field(
        default=30.0, gt=0, description="A running job whose heartbeat is older is re-queued"
    )

    # -- online recognizers ---------------------------------------------------
    audd_token: SecretStr | None = None
    audd_url: str = "https://api.audd.io/"
    shazam_url: str = "https://amp.shazam.com"
    identify_recognizers: str = Field(
        default="", description='e.g. "local,shazam"; empty: local, shazam, and audd with a token'
    )
    online_timeout_s: float = Field(default=20.0, gt=0)
    shazam_rate_per_s: float = Field(default=1.0, gt=0)
    audd_rate_per_s: float = Field(default=2.0, gt=0)

    # -- stems ----------------------------------------------------------------
    demucs_repo: Path | None = Field(default=None, description="Local Demucs model folder")

    # -- chat front-ends and serving -----------------------------------------
    discord_token: SecretStr | None = None
    telegram_token: SecretStr | None = None
    telegram_base_url: str | None = None
    telegram_base_file_url: str | None = None
    telegram_local_mode: bool = False
    secret: SecretStr | None = Field(default=None, description="HMAC key for download links")
    public_url: str = Field(
        default="", description="Base of download links; default http://HTTP_HOST:HTTP_PORT"
    )
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    link_ttl_s: float = 24 * 3600

    # -- command layer (chat) -------------------------------------------------
    admin_user_ids: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Comma-separated user ids treated as admins everywhere; "
        "'123' matches on any platform, 'telegram:123' on one",
    )
    admin_roles: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), description="Comma-separated Discord role names or ids that grant admin"
    )
    max_jobs_per_day_per_owner: int = Field(
        default=50, ge=1, description="Jobs one chat user may start in 24 hours"
    )
    pi_timeout_s: float = Field(default=3.0, gt=0, description="Wait for a Pi's reply")

    @field_validator("admin_user_ids", "admin_roles", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        # Environment variables hold "a,b"; TOML and keywords may give lists.
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _derive(self) -> Settings:
        home = Path(self.home).expanduser().resolve()
        object.__setattr__(self, "home", home)
        if not self.public_url:
            object.__setattr__(
                self, "public_url", default_public_url(self.http_host, self.http_port)
            )
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite+aiosqlite:///{home / 'cratebot.db'}")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config = _config_file()
        if config is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config))
        return tuple(sources)

    # -- derived paths --------------------------------------------------------
    @property
    def results_dir(self) -> Path:
        return self.home / "results"

    @property
    def work_dir(self) -> Path:
        return self.home / "work"

    @property
    def library_dir(self) -> Path:
        """Folder storage owns for bulky library data (fingerprint index, ...)."""
        return self.home / "library"

    @property
    def models_dir(self) -> Path:
        """The Demucs model folder ``cratebot models`` fills and stems read first."""
        return Path(self.demucs_repo).expanduser() if self.demucs_repo else self.home / "models"

    @property
    def max_download_bytes(self) -> int:
        return int(self.max_download_mb * 1024 * 1024)

    def ensure_dirs(self) -> None:
        for folder in (self.home, self.results_dir, self.work_dir, self.library_dir):
            folder.mkdir(parents=True, exist_ok=True)


def default_public_url(host: str, port: int) -> str:
    """Where this machine's own web server is reachable when no public URL is configured."""
    shown = "127.0.0.1" if host in {"", "0.0.0.0", "::"} else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def load_settings(**overrides: Any) -> Settings:
    """Build Settings; ``None`` overrides are ignored so CLI flags can pass through."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)
