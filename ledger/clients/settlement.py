"""Client of ``SettlementEngine`` and the Python mirror of its arithmetic.

Units: energy in Wh, prices and rates in fen/MWh, money in fen. Every amount is
``floor(energy_wh * rate / 1e6)`` (see ``contracts/interfaces/ISettlementEngine.sol`` and
docs/settlement.md); the functions below compute exactly what the contract computes, so
statements and tests can check the chain to the fen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict
from web3 import Web3
from web3.types import TxReceipt

from ledger.clients.base import ContractClient
from ledger.units import value_fen as amount_fen

#: Dispatch reason code of a curtailment for congestion (corridor limit): FTRs pay on it.
REASON_CONGESTION = 1
#: Why a substitution was not taken (``SubstitutionDeclined.reason``).
DECLINE_REASONS = {
    1: "costs the buyer more than its contract",
    2: "no spare capacity left",
    3: "no route to the buyer",
    4: "substitute's deviation already settled",
}


# ---------------------------------------------------------------------- arithmetic mirror


class FeeSplit(BaseModel):
    """Formula 1 on a route, split per region; ``remainder_fen`` goes to the remainder
    account."""

    model_config = ConfigDict(frozen=True)

    fee_fen: int
    shares_fen: list[tuple[int, int]]
    """(region, fen) in route order."""
    remainder_fen: int


def split_fee(energy_wh: int, route: Sequence[int], rates: Sequence[int]) -> FeeSplit:
    """Formula 1, S = (alpha + beta + gamma ...) x Q, rounded down on the whole route; each
    region gets ``floor(Q x rate / 1e6)``; the rest (less than one fen per region) is the
    remainder."""
    if len(route) != len(rates):
        raise ValueError("route and rates differ in length")
    fee = amount_fen(energy_wh, sum(rates))
    shares = [(int(r), amount_fen(energy_wh, rate)) for r, rate in zip(route, rates, strict=True)]
    return FeeSplit(fee_fen=fee, shares_fen=shares, remainder_fen=fee - sum(s for _, s in shares))


class Deviation(BaseModel):
    """Formulas 2 and 3 for one node and period (net = import - export)."""

    model_config = ConfigDict(frozen=True)

    metered_net_wh: int
    contracted_net_wh: int
    deviation_wh: int
    ramp_up: bool
    rate_fen_per_mwh: int
    amount_fen: int
    """Positive amounts: received (ramp down, formula 2) or paid (ramp up, formula 3)."""

    @property
    def signed_fen(self) -> int:
        """What the node's balance changes by: + received, - owed."""
        return -self.amount_fen if self.ramp_up else self.amount_fen


def deviation(
    metered_net_wh: int,
    contracted_import_wh: int,
    contracted_export_wh: int,
    down_fen_per_mwh: int,
    up_fen_per_mwh: int,
) -> Deviation:
    """dQ = metered net - contracted net. dQ < 0 (a buyer consumed less, a seller supplied
    more): reserve ramps down, the node receives floor(|dQ| x a / 1e6) (formula 2).
    dQ > 0 (a buyer consumed more, a seller supplied less): reserve ramps up, the node pays
    floor(dQ x a' / 1e6) (formula 3)."""
    contracted = contracted_import_wh - contracted_export_wh
    dq = metered_net_wh - contracted
    ramp_up = dq > 0
    rate = up_fen_per_mwh if ramp_up else down_fen_per_mwh
    return Deviation(
        metered_net_wh=metered_net_wh,
        contracted_net_wh=contracted,
        deviation_wh=dq,
        ramp_up=ramp_up,
        rate_fen_per_mwh=rate,
        amount_fen=amount_fen(abs(dq), rate),
    )


def ftr_compensation(
    curtailed_wh: int, capacity_left_wh: int, rate_fen_per_mwh: int, fund_fen: int
) -> tuple[int, int, int]:
    """(eligible Wh, paid fen, unpaid fen): floor(min(curtailed, left) x rate / 1e6), paid
    from the FTR fund as far as it reaches."""
    eligible = min(curtailed_wh, capacity_left_wh)
    owed = amount_fen(eligible, rate_fen_per_mwh)
    paid = min(owed, fund_fen)
    return eligible, paid, owed - paid


def substitution_taken(
    energy_wh: int,
    substitute_price: int,
    substitute_sum_rate: int,
    contract_price: int,
    contract_sum_rate: int,
) -> bool:
    """Taken when the substitute's energy plus route fee costs the buyer no more than the
    same energy under its contract (each term rounded down)."""
    cost = amount_fen(energy_wh, substitute_price) + amount_fen(energy_wh, substitute_sum_rate)
    value = amount_fen(energy_wh, contract_price) + amount_fen(energy_wh, contract_sum_rate)
    return cost <= value


# ---------------------------------------------------------------------- views as models


class NodePeriod(BaseModel):
    model_config = ConfigDict(frozen=True)

    import_wh: int
    export_wh: int
    trades: int
    settled: int
    deviation_settled: bool
    meter_missing: bool


class SpareCapacity(BaseModel):
    model_config = ConfigDict(frozen=True)

    declared_wh: int
    remaining_wh: int
    price_fen_per_mwh: int


class DeviationRates(BaseModel):
    model_config = ConfigDict(frozen=True)

    down_fen_per_mwh: int
    up_fen_per_mwh: int
    set: bool
    locked: bool


class Ftr(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    period: int
    from_region: int
    to_region: int
    holder: str
    capacity_wh: int
    used_wh: int
    rate_fen_per_mwh: int
    price_fen: int

    @property
    def sold(self) -> bool:
        return int(self.holder, 16) != 0


def _ftr(raw: Any) -> Ftr:
    return Ftr(
        id=int(raw[0]),
        period=int(raw[1]),
        from_region=int(raw[2]),
        to_region=int(raw[3]),
        holder=str(raw[4]),
        capacity_wh=int(raw[5]),
        used_wh=int(raw[6]),
        rate_fen_per_mwh=int(raw[7]),
        price_fen=int(raw[8]),
    )


def _addr(value: str) -> str:
    return str(Web3.to_checksum_address(value))


class SettlementEngineClient(ContractClient):
    """Settlement, guarantees and deviations (see ``ISettlementEngine``)."""

    ARTIFACT = "SettlementEngine"

    # -- OPERATOR -------------------------------------------------------------------------

    def set_grid_account(self, region: int, account: str) -> TxReceipt:
        return self._transact("setGridAccount", region, _addr(account))

    def set_balancing_account(self, account: str) -> TxReceipt:
        return self._transact("setBalancingAccount", _addr(account))

    def set_remainder_account(self, account: str) -> TxReceipt:
        return self._transact("setRemainderAccount", _addr(account))

    def sell_ftr(
        self,
        from_region: int,
        to_region: int,
        period: int,
        capacity_wh: int,
        rate_fen_per_mwh: int,
        price_fen: int,
    ) -> TxReceipt:
        return self._transact(
            "sellFtr", from_region, to_region, period, capacity_wh, rate_fen_per_mwh, price_fen
        )

    # -- DISPATCH -------------------------------------------------------------------------

    def set_deviation_rates(
        self, period: int, down_fen_per_mwh: int, up_fen_per_mwh: int
    ) -> TxReceipt:
        return self._transact("setDeviationRates", period, down_fen_per_mwh, up_fen_per_mwh)

    def nominate_substitute(self, trade_id: int, substitute: str) -> TxReceipt:
        return self._transact("nominateSubstitute", trade_id, _addr(substitute))

    # -- nodes / anyone -------------------------------------------------------------------

    def declare_spare_capacity(
        self, period: int, energy_wh: int, price_fen_per_mwh: int
    ) -> TxReceipt:
        return self._transact("declareSpareCapacity", period, energy_wh, price_fen_per_mwh)

    def buy_ftr(self, ftr_id: int) -> TxReceipt:
        return self._transact("buyFtr", ftr_id)

    def fund_ftr(self, amount_fen: int) -> TxReceipt:
        return self._transact("fundFtr", amount_fen)

    def settle(self, trade_id: int) -> TxReceipt:
        return self._transact("settle", trade_id)

    def settle_batch(self, trade_ids: Sequence[int]) -> TxReceipt:
        return self._transact("settleBatch", list(trade_ids))

    def flag_missing_meter(self, node: str, period: int) -> TxReceipt:
        return self._transact("flagMissingMeter", _addr(node), period)

    def settle_deviation(self, node: str, period: int) -> TxReceipt:
        return self._transact("settleDeviation", _addr(node), period)

    def repay_debt(self, node: str, amount_fen: int) -> TxReceipt:
        return self._transact("repayDebt", _addr(node), amount_fen)

    def withdraw(self) -> TxReceipt:
        return self._transact("withdraw")

    # -- views ----------------------------------------------------------------------------

    def grid_account_of(self, region: int) -> str:
        return str(self._call("gridAccountOf", region))

    def balancing_account(self) -> str:
        return str(self._call("balancingAccount"))

    def remainder_account(self) -> str:
        return str(self._call("remainderAccount"))

    def deviation_rates(self, period: int) -> DeviationRates:
        raw = self._call("deviationRates", period)
        return DeviationRates(
            down_fen_per_mwh=int(raw[0]), up_fen_per_mwh=int(raw[1]), set=raw[2], locked=raw[3]
        )

    def spare_capacity_of(self, node: str, period: int) -> SpareCapacity:
        raw = self._call("spareCapacityOf", _addr(node), period)
        return SpareCapacity(
            declared_wh=int(raw[0]), remaining_wh=int(raw[1]), price_fen_per_mwh=int(raw[2])
        )

    def nominee_of(self, trade_id: int) -> str:
        return str(self._call("nomineeOf", trade_id))

    def node_period(self, node: str, period: int) -> NodePeriod:
        raw = self._call("nodePeriod", _addr(node), period)
        return NodePeriod(
            import_wh=int(raw[0]),
            export_wh=int(raw[1]),
            trades=int(raw[2]),
            settled=int(raw[3]),
            deviation_settled=bool(raw[4]),
            meter_missing=bool(raw[5]),
        )

    def ftr_count(self) -> int:
        return int(self._call("ftrCount"))

    def ftr(self, ftr_id: int) -> Ftr:
        return _ftr(self._call("ftr", ftr_id))

    def ftrs_page(self, offset: int = 0, limit: int = 200) -> list[Ftr]:
        return [_ftr(raw) for raw in self._call("ftrsPage", offset, limit)]

    def ftr_of(self, holder: str, period: int, from_region: int, to_region: int) -> int:
        return int(self._call("ftrOf", _addr(holder), period, from_region, to_region))

    def ftr_fund_fen(self) -> int:
        return int(self._call("ftrFundFen"))

    def claimable_of(self, account: str) -> int:
        return int(self._call("claimableOf", _addr(account)))

    def total_claimable_fen(self) -> int:
        return int(self._call("totalClaimableFen"))

    def debt_of(self, node: str) -> int:
        return int(self._call("debtOf", _addr(node)))

    def default_fund(self) -> str:
        return str(self._call("defaultFund"))

    def offered_ftr_id(self, receipt: TxReceipt) -> int:
        return int(self.events(receipt, "FtrOffered")[0]["args"]["ftrId"])
