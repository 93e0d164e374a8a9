"""Dispatch relay: verify the dispatch center's signed results of trades and queue their
relay to ``DispatchResults.submitResults`` through the write-ahead outbox (all or nothing)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ledger.clients.access import MarketAccessClient
from ledger.clients.oracle import DispatchResultsClient
from ledger.context import LedgerContext
from oracle import eip712
from oracle.core import OracleCore
from oracle.dispatch import TradeSource
from oracle.encoding import from_hex, to_hex
from oracle.errors import OracleError
from oracle.relay import enqueue
from oracle.schemas import (
    DispatchAccepted,
    DispatchReason,
    DispatchResult,
    DispatchSubmission,
    SignedDispatchResult,
)
from oracle.store import DispatchResultRow

#: A verified result: the result, its signature and its signer.
Verified = tuple[DispatchResult, bytes, str]


class DispatchRelay:
    """Checks submissions of dispatch results and queues them."""

    def __init__(
        self,
        core: OracleCore,
        *,
        ctx: LedgerContext,
        dispatch_results: DispatchResultsClient,
        access: MarketAccessClient,
        trades: TradeSource,
    ) -> None:
        self.core = core
        self.ctx = ctx
        self.dispatch_results = dispatch_results
        self.access = access
        self.trades = trades
        self.separator = eip712.domain_separator(
            eip712.DISPATCH_DOMAIN_NAME, core.chain_id, dispatch_results.address
        )

    def submit_dispatch(self, sub: DispatchSubmission) -> DispatchAccepted:
        """Verify dispatch-signed results and queue their relay (all or nothing)."""
        problem = self.core.wrong_domain(
            sub.chain_id, sub.verifying_contract, self.dispatch_results.address
        )
        if problem:
            raise OracleError(400, DispatchReason.WRONG_CHAIN, problem)
        prepared = [self._verify(item) for item in sub.results]
        signers = {signer for _r, _s, signer in prepared}
        for signer in sorted(signers):
            if not self.access.has_role("DISPATCH", signer):
                raise OracleError(
                    403, DispatchReason.NOT_DISPATCH, f"{signer} does not hold the DISPATCH role"
                )
        chain_now = int(self.ctx.w3.eth.get_block("latest")["timestamp"])
        ids = [r.trade_id for r, _s, _g in prepared]
        with self.core.lock, self.core.sessions.begin() as session:
            for res, _sig, _signer in prepared:
                self._check_trade(session, res, chain_now)
            outbox_id = self._enqueue(session, prepared)
        return DispatchAccepted(outbox_id=outbox_id, trade_ids=ids, signer=sorted(signers)[0])

    def _verify(self, item: SignedDispatchResult) -> Verified:
        """The result with its signature and recovered signer (401 for a bad signature)."""
        res = item.result
        signature = from_hex(item.signature)
        digest = eip712.typed_digest(self.separator, eip712.dispatch_struct_hash(res.message()))
        try:
            signer = eip712.recover_signer(digest, signature)
        except eip712.SignatureError as exc:
            raise OracleError(
                401, DispatchReason.BAD_SIGNATURE, f"trade {res.trade_id}: {exc}"
            ) from exc
        return res, signature, signer

    def _check_trade(self, session: Session, res: DispatchResult, chain_now: int) -> None:
        """The result fits its trade, is the trade's first, and settlement is not open."""
        trade = self.trades.trade(res.trade_id)
        if trade is None:
            raise OracleError(422, DispatchReason.UNKNOWN_TRADE, f"no trade {res.trade_id}")
        if trade.period != res.period:
            raise OracleError(
                422,
                DispatchReason.INCONSISTENT,
                f"trade {res.trade_id} is in period {trade.period}, not {res.period}",
            )
        if res.executed_wh + res.curtailed_wh != trade.energy_wh:
            raise OracleError(
                422,
                DispatchReason.INCONSISTENT,
                f"trade {res.trade_id}: executed + curtailed != {trade.energy_wh} Wh",
            )
        if session.get(DispatchResultRow, str(res.trade_id)) is not None or (
            self.dispatch_results.result_of(res.trade_id).recorded
        ):
            raise OracleError(
                409, DispatchReason.REPLAY, f"trade {res.trade_id} already has a result"
            )
        opens = self.dispatch_results.settlement_opens_at(res.period)
        if opens and chain_now >= opens:
            raise OracleError(
                409,
                DispatchReason.SETTLEMENT_OPEN,
                f"settlement of period {res.period} opened at {opens}",
            )

    def _enqueue(self, session: Session, prepared: list[Verified]) -> int:
        """Queue one ``submitResults`` of every result and store the results; the outbox id."""
        data = self.dispatch_results.encode(
            "submitResults",
            [
                (r.trade_id, r.period, r.executed_wh, r.curtailed_wh, r.reason_code)
                for r, _s, _g in prepared
            ],
            [sig for _r, sig, _g in prepared],
        )
        ids = [r.trade_id for r, _s, _g in prepared]
        out = enqueue(
            session,
            "dispatch_results",
            ",".join(str(i) for i in ids)[:100],
            self.dispatch_results.address,
            data,
        )
        for res, sig, signer in prepared:
            session.add(
                DispatchResultRow(
                    trade_id=str(res.trade_id),
                    period=res.period,
                    executed_wh=res.executed_wh,
                    curtailed_wh=res.curtailed_wh,
                    reason_code=res.reason_code,
                    signature=to_hex(sig),
                    signer=signer,
                    received_at=self.core.clock(),
                    outbox_id=out.id,
                )
            )
        outbox_id: int = out.id
        return outbox_id
