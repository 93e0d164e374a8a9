"""The demo engine's base: the day's state, helpers and the oracle's service.

The demo engine (:class:`scripts.market_day.MarketDay`) runs the plan of the day
(:mod:`scripts.day.plan`) through the typed clients and the real services; its stages live
in :mod:`scripts.day.demo_market`, :mod:`scripts.day.demo_delivery` and
:mod:`scripts.day.demo_after`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
import uvicorn
from eth_account.signers.local import LocalAccount
from pydantic import Field

from ledger.clients.tariff import TransmissionTariffClient
from ledger.context import LedgerContext
from ledger.db import make_engine, session_factory
from ledger.engines.local import free_port
from ledger.errors import GridLedgerError
from ledger.scenario import Participant, Scenario
from ledger.tls import http_client, init_tls, tls_dir, uvicorn_ssl_kwargs
from node.trading.trader import Trader
from scripts.day.clock import ChainClock, DaySchedule
from scripts.day.feeders import TamperOutcome
from scripts.day.figures import DayFigures
from scripts.day.plan import ROLE_WALLETS, market_accounts

Report = Callable[[str], None]
_T = TypeVar("_T")
#: Wei a wallet the day signs with should hold on a chain that charges for gas, and the
#: balance under which it is topped up to that by the admin (10 ** 17 wei at London's 7 wei
#: base fee pays for thousands of transactions).
GAS_FLOAT_WEI, GAS_LOW_WEI = 10**17, 10**16


class DaySummary(DayFigures):
    """What the day produced (the demo prints it; the end-to-end test checks it)."""

    participants: int = 0
    period_id: int = 0
    readings_accepted: int = 0
    readings_flagged: int = 0
    violations_reported: int = 0
    #: Surveillance rulings against the scenario's truth: tp, fp, fn, tn.
    surveillance_confusion: dict[str, int] = Field(default_factory=dict)
    #: Feeder meters and tampered customer meters: the oracle's flags against the truth.
    tamper: TamperOutcome = Field(default_factory=TamperOutcome)
    stage_seconds: dict[str, float] = Field(default_factory=dict)
    #: The centralised auction after taking (scripts/day/demo_auction.py): its trades are
    #: in the day's settlement but not in ``trades`` / ``traded_wh`` / ``trades_settled``.
    auction_orders: int = 0
    auction_trades: int = 0
    auction_traded_wh: int = 0
    auction_price_fen_per_mwh: int = 0
    auction_trades_settled: int = 0
    #: Bilateral contracts registered, their period trades and energy (day/demo_contracts.py).
    contracts_registered: int = 0
    contract_trades: int = 0
    contract_traded_wh: int = 0
    #: Retail packages published, bills anchored, their total and what was paid
    #: (day/demo_retail.py).
    retail_packages: int = 0
    retail_bills: int = 0
    retail_billed_fen: int = 0
    retail_paid_fen: int = 0


class DemoBase:
    """The state of one delivery day of ``scenario`` on the chain behind ``ctx`` (demo keys).

    Args:
        schedule: The day's intervals and windows (default: the day-ahead market,
            time-lapsed; on a chain whose clock cannot move, pass :meth:`DaySchedule.compact`).
        clock: How chain time moves (default: detected from the node).
        workers: Independent transactions (of different nodes, or of one role for
            different nodes) sent this many at a time; 1 sends one after the other.
    """

    _tariff: TransmissionTariffClient

    def __init__(
        self,
        ctx: LedgerContext,
        scenario: Scenario,
        report: Report,
        *,
        schedule: DaySchedule | None = None,
        clock: ChainClock | None = None,
        workers: int = 1,
    ) -> None:
        self.ctx = ctx
        self.scenario = scenario
        self.report = report
        self.schedule = schedule or DaySchedule()
        self.clock = clock or ChainClock(ctx.w3)
        self.workers = max(1, workers)
        self.blocks = self.schedule.block_ranges()
        self.summary = DaySummary(participants=len(scenario.participants))
        self.accounts: dict[int, LocalAccount] = {}
        self.traders: dict[int, Trader] = {}
        self.meters: dict[int, list[Any]] = {}
        self.period_id = 0
        self.trade_ids: list[int] = []
        self._settled: list[Any] = []
        self._oracle_url = ""
        self._oracle_service: Any = None
        self._oracle_ctx: LedgerContext | None = None

        self._routes: dict[tuple[int, int], int] = {}
        self._by_address: dict[str, Participant] = {}
        self._reputation: dict[str, float] = {}

    # ------------------------------------------------------------------ helpers

    def role(self, wallet: str) -> LocalAccount:
        return self.ctx.account(wallet)

    def account(self, p: Participant) -> LocalAccount:
        return self.ctx.account(f"node-{p.index + 1}")

    def chain_time(self) -> int:
        return self.clock.now()

    def set_time(self, ts: int) -> None:
        """Bring the chain's clock to ``ts``: warp (and mine a block) or wait for it."""
        self.clock.advance_to(ts)

    def profile(self, p: Participant) -> list[int]:
        """``p``'s energy per interval of the schedule (Wh)."""
        return self.schedule.profile(p.profile_wh)

    def each(self, items: Iterable[_T], step: Callable[[_T], object]) -> None:
        """``step`` on every item: in turn, or ``workers`` at a time (first error raised)."""
        todo = list(items)
        if self.workers == 1 or len(todo) < 2:
            for item in todo:
                step(item)
            return
        with ThreadPoolExecutor(max_workers=min(self.workers, len(todo))) as pool:
            for future in [pool.submit(step, item) for item in todo]:
                future.result()

    def wallets(self) -> list[str]:
        """Every wallet the day signs with (roles, nodes, the market's accounts)."""
        names = list(ROLE_WALLETS)
        names += [f"node-{p.index + 1}" for p in self.scenario.participants]
        names += [f"node-{n}" for n in market_accounts(self.scenario)]
        return names

    def fund_gas(self) -> int:
        """On a chain that charges for gas, top up every wallet of the day that holds less
        than ``GAS_LOW_WEI`` to ``GAS_FLOAT_WEI`` from the admin; nothing on a free-gas
        chain (anvil). Returns the number of wallets topped up."""
        admin = self.ctx.sender(self.role("admin"))
        if admin.fees().max_fee_per_gas == 0:
            return 0
        w3 = self.ctx.w3
        sent = []
        for name in self.wallets():
            address = self.ctx.account(name).address
            balance = int(w3.eth.get_balance(address))
            if address != admin.address and balance < GAS_LOW_WEI:
                sent.append(admin.send(address, "0x", value=GAS_FLOAT_WEI - balance, gas=21_000))
        for tx_hash in sent:
            admin.wait(tx_hash)
        if sent:
            self.report(f"gas: {len(sent)} wallets topped up by the admin")
        return len(sent)

    def has(self, contract: str) -> bool:
        return contract in self.ctx.manifest.contracts

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        yield
        self.summary.stage_seconds[name] = round(time.monotonic() - started, 2)

    # ------------------------------------------------------------------ oracle

    def oracle_ctx(self) -> LedgerContext:
        """The oracle's context: the day's, with the schedule's interval and late-reading
        window when they differ from the settings' (same chain, manifest and database)."""
        settings = self.ctx.settings
        update: dict[str, Any] = {}
        if self.schedule.interval_s != settings.oracle_interval_s:
            update["oracle_interval_s"] = self.schedule.interval_s
        max_age = self.schedule.oracle_max_age_s
        if max_age is not None and max_age != settings.oracle_max_age_s:
            update["oracle_max_age_s"] = max_age
        if not update:
            return self.ctx
        if self._oracle_ctx is None:
            self._oracle_ctx = LedgerContext(
                settings.model_copy(update=update),
                w3=self.ctx.w3,
                store=self.ctx.store,
                manifest=self.ctx.manifest,
            )
        return self._oracle_ctx

    @contextmanager
    def oracle(self) -> Iterator[httpx.Client]:
        """A client of the oracle's API on a free port over HTTPS (the consortium CA of the
        demo's data dir, made on first use, verifies it), its clock following the chain's."""
        from oracle.app import create_app
        from oracle.service import OracleService
        from oracle.store import OracleBase

        ctx = self.oracle_ctx()
        engine = make_engine(ctx.settings)
        OracleBase.metadata.create_all(engine)
        sessions = session_factory(engine)
        service = OracleService(
            ctx,
            sessions=sessions,
            account=self.role("meter-oracle"),
            clock=lambda: float(self.chain_time()),
        )
        self._oracle_service = service
        app = create_app(
            ctx,
            sessions=sessions,
            account=self.role("meter-oracle"),
            service=service,
            background_interval_s=0.5,
            # The demo's in-process oracle on loopback: its callers (the day's dispatch
            # center) need no key; a deployed oracle takes keys (README "Web access").
            anonymous_role="dispatch",
        )
        port = free_port()
        init_tls(tls_dir(ctx.settings))
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=port,
                log_level="warning",
                **uvicorn_ssl_kwargs(ctx.settings, "oracle"),
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        url = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline:
                raise GridLedgerError("the oracle did not start")
            time.sleep(0.05)
        try:
            with http_client(ctx.settings, url, client_name="dispatch", timeout=300) as http:
                yield http
        finally:
            server.should_exit = True
            thread.join(timeout=30)
