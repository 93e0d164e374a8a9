"""All GridLedger settings, read from ``GRIDLEDGER_*`` environment variables and ``.env``.

Every field is documented in the README's settings table; keep the two in step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledger.errors import ConfigError

#: The repository root (the directory holding ``contracts/`` and ``hardhat-local/``).
PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: The fixed chain id of the local GridLedger chain.
DEFAULT_CHAIN_ID = 31_415

#: THROWAWAY demo mnemonic. Keys derived from it are public knowledge: demo and tests only.
#: (BIP-39 words of sha256("gridledger demo throwaway")[:16].)
DEMO_MNEMONIC = (
    "quantum brush correct draft attract like chuckle stuff settle erosion neutral summer"
)

#: Least scrypt cost of new keystores (N = 2^14, the old "light" Web3 Secret Storage cost).
MIN_SCRYPT_N = 2**14
#: Least scrypt cost with ``demo_keys`` (THROWAWAY keys: demo and tests, for speed).
DEMO_MIN_SCRYPT_N = 2**10


class Settings(BaseSettings):
    """GridLedger configuration (env prefix ``GRIDLEDGER_``)."""

    model_config = SettingsConfigDict(
        env_prefix="GRIDLEDGER_", env_file=".env", extra="ignore", frozen=True
    )

    data_dir: Path = Field(
        default=Path(".gridledger"),
        description="Where chain state, keystores, the manifest and the database live.",
    )
    rpc_host: str = Field(default="127.0.0.1", description="Host the local chain binds to.")
    rpc_port: int = Field(default=8545, ge=1, le=65535, description="Local chain RPC port.")
    rpc_url_override: str | None = Field(
        default=None,
        validation_alias="GRIDLEDGER_RPC_URL",
        description="RPC URL of the chain to use; defaults to http://rpc_host:rpc_port.",
    )
    chain_id: int = Field(default=DEFAULT_CHAIN_ID, description="Chain id of the local chain.")
    engine: Literal["anvil", "hardhat"] = Field(
        default="anvil", description="Local chain engine (hardhat does not persist state)."
    )
    mining: Literal["interval", "mixed", "auto"] = Field(
        default="interval",
        description="How the local anvil mines: `interval` (a block every `block_time_s` "
        "with every ready transaction: holds the peak, never stalls), `mixed` (a block per "
        "transaction plus the interval blocks: quick for one-at-a-time use, never stalls, "
        "but a burst gets one block per transaction), `auto` (a block per transaction only: "
        "anvil can leave ready transactions unmined under a burst).",
    )
    block_time_s: int | None = Field(
        default=None,
        ge=1,
        description="Seconds between interval blocks of `mixed` and `interval` mining "
        "(unset: 1); hardhat: seconds between blocks, unset means automine.",
    )
    poa: bool = Field(
        default=False,
        description="Proof-of-authority chain (Clique/QBFT extraData); detected from the "
        "genesis when unset, set to force it.",
    )
    hardhat_local_dir: Path = Field(
        default=PROJECT_ROOT / "hardhat-local", description="The pinned Node toolchain."
    )
    contracts_dir: Path = Field(default=PROJECT_ROOT / "contracts", description="Solidity sources.")
    build_dir: Path = Field(
        default=PROJECT_ROOT / "artifacts",
        description="Compiled artifacts and Hardhat-style build-info.",
    )
    keystore_dir_override: Path | None = Field(
        default=None,
        validation_alias="GRIDLEDGER_KEYSTORE_DIR",
        description="Directory of encrypted keystores; defaults to data_dir/keystore.",
    )
    keystore_password: SecretStr | None = Field(
        default=None, description="Keystore password (else password file, else prompt)."
    )
    keystore_password_file: Path | None = Field(
        default=None, description="File whose first line is the keystore password."
    )
    keystore_scrypt_n: int = Field(
        default=262_144,
        ge=2,
        description="scrypt cost of new keystores: a power of two, at least 2^14 "
        "(2^10 with demo_keys).",
    )
    admin_wallet: str = Field(
        default="admin", description="Keystore name that deploys and administers."
    )
    demo_keys: bool = Field(
        default=False,
        description="Sign with THROWAWAY keys derived from the public demo mnemonic.",
    )
    database_url_override: str | None = Field(
        default=None,
        validation_alias="GRIDLEDGER_DATABASE_URL",
        description="SQLAlchemy URL; defaults to a SQLite file in data_dir.",
    )
    gas_margin_percent: int = Field(
        default=25, ge=0, le=500, description="Margin added to every gas estimate."
    )
    tx_timeout_s: float = Field(
        default=60.0, gt=0, description="Seconds to wait for a transaction receipt."
    )
    priority_fee_wei: int = Field(
        default=0, ge=0, description="Priority fee (tip) per gas offered by every sender."
    )
    max_fee_per_gas_wei: int = Field(
        default=10**9,
        ge=0,
        description="The consortium's fee ceiling: the max fee per gas every sender offers "
        "on a chain with a base fee (twice the latest base fee plus the tip if that is "
        "higher), so a burst of full blocks, which raises the base fee by 1/8 a block, "
        "never prices its own transactions out; 0: the public-chain rule (twice the latest "
        "base fee plus the tip). A chain with a zero base fee (the local anvil) pays the "
        "tip only.",
    )
    tx_confirmations: int | None = Field(
        default=None,
        ge=0,
        le=64,
        description="Blocks that must follow a transaction's block before its receipt "
        "counts (its block still canonical); unset: 1 on a proof-of-authority chain, whose "
        "validators now and then seal competing blocks, 0 otherwise.",
    )
    rpc_timeout_s: float = Field(default=30.0, gt=0, description="HTTP timeout of RPC calls.")
    admin_transfer_delay_s: int = Field(
        default=86_400, ge=0, description="Delay of the two-step default-admin transfer."
    )
    role_accounts_file: Path | None = Field(
        default=None,
        description="JSON file {ROLE: [address, ...]} of roles granted at deploy.",
    )
    oracle_host: str = Field(default="127.0.0.1", description="Host the oracle API binds to.")
    oracle_port: int = Field(default=8600, ge=1, le=65535, description="Oracle API port.")
    oracle_wallet: str = Field(
        default="meter-oracle", description="Wallet of the oracle's METER_ORACLE relaying key."
    )
    oracle_interval_s: int = Field(
        default=900, ge=1, description="Meter reading interval (s) the oracle accepts."
    )
    oracle_max_age_s: int = Field(
        default=86_400,
        ge=1,
        description="Oldest reading accepted: interval end at most this old (s).",
    )
    oracle_max_future_s: int = Field(
        default=60, ge=0, description="Clock skew allowed for a reading's interval end (s)."
    )
    oracle_batch_size: int = Field(
        default=1000, ge=1, le=65_535, description="Most readings anchored in one batch."
    )
    oracle_batch_interval_s: float = Field(
        default=30.0, gt=0, description="Longest a reading waits before its batch is anchored (s)."
    )
    oracle_period_s: int = Field(
        default=3600,
        ge=1,
        description="Length of a delivery period (s); a multiple of the interval.",
    )
    oracle_period_source: Literal["trading", "fixed"] = Field(
        default="trading",
        description=(
            "Where the oracle's delivery periods come from: 'trading' (TradingMarket's "
            "period ids, when deployed) or 'fixed' (interval start // oracle_period_s)."
        ),
    )
    oracle_api_keys_file: Path | None = Field(
        default=None,
        description="JSON file {api_key: role} of the oracle (auditor, operator, dispatch, ...).",
    )
    identity_key_file_override: Path | None = Field(
        default=None,
        validation_alias="GRIDLEDGER_IDENTITY_KEY_FILE",
        description="Verifier's AES-256 key of identity bundles; default data_dir/verifier/.",
    )
    gateway_confirmations: int = Field(
        default=0, ge=0, description="Blocks the gateway indexer stays behind the chain head."
    )
    gateway_poll_interval_s: float = Field(
        default=2.0, gt=0, description="Seconds between polls of the gateway indexer."
    )
    gateway_chunk_blocks: int = Field(
        default=2000, ge=1, description="Blocks per eth_getLogs chunk (one DB transaction each)."
    )
    gateway_api_keys_file: Path | None = Field(
        default=None,
        description="JSON file {api_key: role} of the gateway (auditor, regulator, ...).",
    )
    gateway_rate_limit_per_s: float = Field(
        default=20.0, gt=0, description="Gateway requests per second per API key or client IP."
    )
    gateway_rate_limit_burst: int = Field(
        default=60, ge=1, description="Gateway token-bucket size (burst) per API key or IP."
    )
    gateway_identity_database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the identity vault the gateway reads for regulators "
        "(its records and access log); defaults to the database URL.",
    )
    gateway_identity_key_file: Path | None = Field(
        default=None,
        description="The vault's AES-256 key the gateway decrypts with (never created by the "
        "gateway); defaults to the identity key file.",
    )
    gateway_max_page_size: int = Field(
        default=500, ge=1, description="Largest page the gateway history API returns."
    )
    gateway_verify_max_blocks: int = Field(
        default=10_000,
        ge=1,
        description="Most blocks one GET /api/v1/verify re-checks (a wider range: 400).",
    )
    gateway_retry_max_s: float = Field(
        default=30.0,
        gt=0,
        description="Longest wait of the follow-mode indexer between retries in an outage.",
    )
    portal_explorer_url: str = Field(
        default="https://127.0.0.1:8700/",
        description="The regulators' explorer the portal's operator pages link to.",
    )
    tls_dir_override: Path | None = Field(
        default=None,
        validation_alias="GRIDLEDGER_TLS_DIR",
        description="Consortium CA and service/client certificates; defaults to data_dir/tls.",
    )
    tls_ca_file_override: Path | None = Field(
        default=None,
        validation_alias="GRIDLEDGER_TLS_CA_FILE",
        description="CA certificate clients verify servers against; defaults to tls_dir/ca.crt.",
    )
    tls_client_auth: bool = Field(
        default=False,
        description="HTTPS services demand a client certificate of the consortium CA (mTLS).",
    )
    backup_dir_override: Path | None = Field(
        default=None,
        validation_alias="GRIDLEDGER_BACKUP_DIR",
        description="Where `gridledger backup` keeps backups; defaults to <data_dir>-backups.",
    )
    cert_rpc_url: str | None = Field(
        default=None,
        description="RPC URL of the auxiliary green-certificate chain; unset = the main chain.",
    )
    smtp_host: str = Field(
        default="127.0.0.1", description="SMTP server the notification centre sends e-mail to."
    )
    smtp_port: int = Field(default=25, ge=1, le=65535, description="SMTP server port.")
    smtp_from: str = Field(
        default="gridledger@localhost", description="Sender address of notification e-mails."
    )
    smtp_starttls: bool = Field(
        default=False, description="Upgrade the SMTP connection with STARTTLS before sending."
    )
    smtp_timeout_s: float = Field(default=10.0, gt=0, description="SMTP connect/send timeout.")
    notify_lead_s: int = Field(
        default=86_400,
        ge=0,
        description="How long before a deadline (milestone, bill, rating window, top-up) "
        "the notification centre reminds.",
    )
    desk_url: str | None = Field(
        default=None,
        description="URL of the trading center's service desk API (`gridledger desk serve`) "
        "the portal's /desk pages call; unset hides them.",
    )

    @model_validator(mode="after")
    def _scrypt_floor(self) -> Settings:
        """Refuse a weak or malformed scrypt cost (the floor is lower for demo keys).

        Raises:
            ConfigError: (not wrapped by pydantic) so the CLI prints it as one line.
        """
        n = self.keystore_scrypt_n
        floor = DEMO_MIN_SCRYPT_N if self.demo_keys else MIN_SCRYPT_N
        if n & (n - 1):
            raise ConfigError(f"GRIDLEDGER_KEYSTORE_SCRYPT_N={n} is not a power of two")
        if n < floor:
            raise ConfigError(
                f"GRIDLEDGER_KEYSTORE_SCRYPT_N={n} is below the minimum {floor} "
                f"(2^{floor.bit_length() - 1}{' with demo keys' if self.demo_keys else ''})"
            )
        return self

    @property
    def rpc_url(self) -> str:
        """The RPC URL every component connects to."""
        return self.rpc_url_override or f"http://{self.rpc_host}:{self.rpc_port}"

    @property
    def keystore_dir(self) -> Path:
        """Directory of encrypted keystores."""
        return self.keystore_dir_override or self.data_dir / "keystore"

    @property
    def identity_key_file(self) -> Path:
        """The verifier's AES-256-GCM key of identity bundles (created 0600 on first use)."""
        return self.identity_key_file_override or self.data_dir / "verifier" / "identity.key"

    @property
    def backup_dir(self) -> Path:
        """Where backups go: beside the data directory, never inside it."""
        data = self.data_dir.resolve()
        return self.backup_dir_override or data.parent / f"{data.name}-backups"

    @property
    def manifest_path(self) -> Path:
        """Where ``gridledger deploy`` writes the deployment manifest."""
        return self.data_dir / "manifest.json"

    @property
    def cert_manifest_path(self) -> Path:
        """Where ``gridledger certs deploy-aux`` writes the certificate chain's manifest."""
        return self.data_dir / "certificates-manifest.json"

    @property
    def database_url(self) -> str:
        """The SQL database shared by the off-chain services."""
        return self.database_url_override or f"sqlite:///{self.data_dir.resolve()}/gridledger.db"

    @property
    def node_modules(self) -> Path:
        """The pinned ``node_modules`` of the Node toolchain."""
        return self.hardhat_local_dir / "node_modules"


def get_settings() -> Settings:
    """Read the settings afresh from the environment and ``.env``."""
    return Settings()
