"""Oracle fixtures: the suite's MeterOracle/DispatchResults, an oracle service on a fresh
SQLite database, a fixed clock, simulated meters.

The suite deploys TradingMarket, so a service would default to its delivery periods; these
fixtures pin the fixed hourly calendar (``fixed_calendar``) unless a test asks otherwise
(``tests/oracle/test_trading_periods.py`` runs on the trading market's periods)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
from eth_account.signers.local import LocalAccount
from sqlalchemy.orm import Session, sessionmaker

from ledger.clients.oracle import DispatchResultsClient, MeterOracleClient
from ledger.context import LedgerContext
from ledger.db import make_engine, session_factory
from ledger.webauth import ApiKeys, Role
from oracle.app import create_app
from oracle.dispatch import MemoryTradeSource
from oracle.periods import FixedPeriodCalendar
from oracle.service import OracleService
from oracle.store import create_tables
from scripts.meter_sim import SimMeter, make_meters
from tests import webaccess
from tests.conftest import role_account

with warnings.catch_warnings():
    # starlette 1.10 deprecates its httpx-based TestClient (wants httpx2); still works.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

ZERO = "0x0000000000000000000000000000000000000000"
#: The ``api`` fixture's keys are ``tests.webaccess.KEYS``; /dispatch/trades needs this one.
DISPATCH_KEY = webaccess.key_of(Role.dispatch)


class Clock:
    """A settable wall clock."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def operator_oracle(ctx: LedgerContext) -> MeterOracleClient:
    """MeterOracle as OPERATOR, with the node-registry check off (tests use bare nodes)."""
    client = ctx.client(MeterOracleClient, role_account("OPERATOR"))
    if int(client.node_status_source(), 16) != 0:
        client.set_node_status_source(ZERO)
    return client


@pytest.fixture
def oracle_account() -> LocalAccount:
    return role_account("METER_ORACLE")


@pytest.fixture
def sessions(database_url: str, ctx: LedgerContext) -> Iterator[sessionmaker[Session]]:
    """The oracle store's sessions, on SQLite and on PostgreSQL."""
    settings = ctx.settings.model_copy(update={"database_url_override": database_url})
    engine = make_engine(settings)
    create_tables(engine)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def clock(ctx: LedgerContext) -> Clock:
    """Chain time, aligned so that 'now' is 10 s into an interval."""
    latest = int(ctx.w3.eth.get_block("latest")["timestamp"])
    return Clock(float(latest // 900 * 900 + 10))


@pytest.fixture
def trades() -> MemoryTradeSource:
    return MemoryTradeSource()


@pytest.fixture
def fixed_calendar(ctx: LedgerContext) -> FixedPeriodCalendar:
    return FixedPeriodCalendar(ctx.settings.oracle_period_s)


@pytest.fixture
def service(
    ctx: LedgerContext,
    sessions: sessionmaker[Session],
    oracle_account: LocalAccount,
    trades: MemoryTradeSource,
    clock: Clock,
    operator_oracle: MeterOracleClient,
    fixed_calendar: FixedPeriodCalendar,
) -> OracleService:
    return OracleService(
        ctx,
        sessions=sessions,
        account=oracle_account,
        trades=trades,
        calendar=fixed_calendar,
        clock=clock,
    )


@pytest.fixture
def api(ctx: LedgerContext, service: OracleService) -> Iterator[TestClient]:
    app = create_app(
        ctx,
        sessions=service.sessions,
        account=service.account,
        service=service,
        api_keys=ApiKeys({k: Role(r) for k, r in webaccess.KEYS.items()}),
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def meters(operator_oracle: MeterOracleClient) -> list[SimMeter]:
    """Three registered meters of nodes node-1..node-3 (50 kW each)."""
    from ledger.keystore import demo_account

    sims = make_meters(3)
    for n, sim in enumerate(sims, start=1):
        operator_oracle.register_meter(
            bytes.fromhex(sim.meter_id[2:]),
            demo_account(1000 + n).address,
            sim.account.address,
            sim.capacity_w,
        )
    return sims


@pytest.fixture
def dispatch_client(ctx: LedgerContext, oracle_account: LocalAccount) -> DispatchResultsClient:
    return ctx.client(DispatchResultsClient, oracle_account)
