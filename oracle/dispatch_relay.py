"""Dispatch relay: verify the dispatch center's batch of results of trades (one DISPATCH
signature over all of them) and queue its relay to ``DispatchResults.submitResultBatch``
through the write-ahead outbox (all or nothing)."""

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
from oracle.schemas import DispatchAccepted, DispatchReason, DispatchResult, DispatchSubmission
from oracle.store import DispatchResultRow


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
        """Verify a DISPATCH-signed batch of results and queue its relay (all or nothing)."""
        problem = self.core.wrong_domain(
            sub.chain_id, sub.verifying_contract, self.dispatch_results.address
        )
        if problem:
            raise OracleError(400, DispatchReason.WRONG_CHAIN, problem)
        signature = from_hex(sub.signature)
        signer = self._signer(sub, signature)
        if not self.access.has_role("DISPATCH", signer):
            raise OracleError(
                403, DispatchReason.NOT_DISPATCH, f"{signer} does not hold the DISPATCH role"
            )
        chain_now = int(self.ctx.w3.eth.get_block("latest")["timestamp"])
        with self.core.lock, self.core.sessions.begin() as session:
            for res in sub.results:
                self._check_trade(session, res, chain_now)
            outbox_id = self._enqueue(session, sub.results, signature, signer)
        return DispatchAccepted(
            outbox_id=outbox_id, trade_ids=[r.trade_id for r in sub.results], signer=signer
        )

    def _signer(self, sub: DispatchSubmission, signature: bytes) -> str:
        """The batch signature's signer (401 for a bad signature)."""
        struct = eip712.dispatch_batch_struct_hash(sub.messages())
        try:
            return eip712.recover_signer(eip712.typed_digest(self.separator, struct), signature)
        except eip712.SignatureError as exc:
            first = sub.results[0].trade_id
            raise OracleError(
                401, DispatchReason.BAD_SIGNATURE, f"batch from trade {first}: {exc}"
            ) from exc

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

    def _enqueue(
        self, session: Session, results: list[DispatchResult], signature: bytes, signer: str
    ) -> int:
        """Queue one ``submitResultBatch`` of the results and store them; the outbox id."""
        data = self.dispatch_results.encode(
            "submitResultBatch",
            [(r.trade_id, r.period, r.executed_wh, r.curtailed_wh, r.reason_code) for r in results],
            signature,
        )
        ids = [r.trade_id for r in results]
        out = enqueue(
            session,
            "dispatch_results",
            ",".join(str(i) for i in ids)[:100],
            self.dispatch_results.address,
            data,
        )
        for res in results:
            session.add(
                DispatchResultRow(
                    trade_id=str(res.trade_id),
                    period=res.period,
                    executed_wh=res.executed_wh,
                    curtailed_wh=res.curtailed_wh,
                    reason_code=res.reason_code,
                    signature=to_hex(signature),
                    signer=signer,
                    received_at=self.core.clock(),
                    outbox_id=out.id,
                )
            )
        outbox_id: int = out.id
        return outbox_id
