"""Client of ``TransmissionTariff``: postage-stamp rates, the region graph, cheapest routes.

Formula 1: energy routed over regions R1 -> ... -> Rk pays
``feeFen = floor(energyWh * (rate(R1) + ... + rate(Rk)) / 1_000_000)`` on the cheapest path
(rates in fen/MWh). See ``contracts/interfaces/ITransmissionTariff.sol`` and docs/tariff.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from hexbytes import HexBytes
from pydantic import BaseModel
from web3.exceptions import ContractLogicError, Web3RPCError
from web3.types import TxParams, TxReceipt

from ledger.clients.base import ContractClient
from ledger.errors import ValidationError

#: The contract's bounds (``MAX_REGIONS``, ``RATE_HISTORY``).
MAX_REGIONS = 32
RATE_HISTORY = 4


def encode_region_name(name: str) -> bytes:
    """``name`` as the contract's bytes32: UTF-8, right-padded with zero bytes.

    Raises:
        ValidationError: The name is empty or longer than 32 bytes in UTF-8.
    """
    raw = name.encode("utf-8")
    if not raw or len(raw) > 32:
        raise ValidationError(f"region name {name!r} must be 1..32 bytes of UTF-8")
    return raw.ljust(32, b"\x00")


def decode_region_name(raw: bytes) -> str:
    """The text of a bytes32 region name (trailing zero bytes dropped)."""
    return bytes(raw).rstrip(b"\x00").decode("utf-8", errors="replace")


def mask_to_ids(mask: int) -> list[int]:
    """The region ids whose bits are set in ``mask``, increasing."""
    return [i for i in range(MAX_REGIONS) if mask >> i & 1]


class StampRate(BaseModel):
    """One rate entry of a region."""

    rate_fen_per_mwh: int
    effective_from: int


class RegionInfo(BaseModel):
    """A region as the contract reports it (rates as in effect at the current block)."""

    id: int
    name: str
    neighbours: list[int]
    has_rate: bool
    rate_fen_per_mwh: int
    pending_rate_fen_per_mwh: int
    pending_from: int


class Route(BaseModel):
    """A cheapest route and the sum of the stamp rates on it."""

    route: list[int]
    sum_rate_fen_per_mwh: int


class TransmissionFee(Route):
    """Formula 1 for one quantity."""

    energy_wh: int
    fee_fen: int


class TransmissionTariffClient(ContractClient):
    """Regulator writes (regions, edges, stamp rates) and route/fee views."""

    ARTIFACT = "TransmissionTariff"

    # -- writes (REGULATOR) ---------------------------------------------------------------

    def define_region(self, region: int, name: str) -> TxReceipt:
        """Define region ``region`` (0..31) named ``name``, or rename it."""
        return self._transact("defineRegion", region, encode_region_name(name))

    def set_edge(self, region_a: int, region_b: int, connected: bool = True) -> TxReceipt:
        """Add (or with ``connected=False`` remove) the undirected edge between two regions."""
        return self._transact("setEdge", region_a, region_b, connected)

    def schedule_stamp_rate(
        self, region: int, rate_fen_per_mwh: int, effective_from: int = 0
    ) -> TxReceipt:
        """Schedule a stamp rate from ``effective_from`` (0: the mining block's time)."""
        return self._transact("scheduleStampRate", region, rate_fen_per_mwh, effective_from)

    # -- views ----------------------------------------------------------------------------

    def defined_mask(self) -> int:
        return int(self._call("definedMask"))

    def region_ids(self) -> list[int]:
        return [int(i) for i in self._call("regionIds")]

    def region(self, region: int) -> RegionInfo:
        raw = self._call("region", region)
        return RegionInfo(
            id=int(raw[0]),
            name=decode_region_name(raw[1]),
            neighbours=mask_to_ids(int(raw[2])),
            has_rate=bool(raw[3]),
            rate_fen_per_mwh=int(raw[4]),
            pending_rate_fen_per_mwh=int(raw[5]),
            pending_from=int(raw[6]),
        )

    def regions(self) -> list[RegionInfo]:
        """Every defined region (at most 32)."""
        return [self.region(i) for i in self.region_ids()]

    def rate_history(self, region: int) -> tuple[list[StampRate], int]:
        """The kept rate entries (oldest first) and how many were ever appended."""
        entries, count = self._call("rateHistory", region)
        return (
            [StampRate(rate_fen_per_mwh=int(r), effective_from=int(t)) for r, t in entries],
            int(count),
        )

    def rate_at(self, region: int, at: int) -> int:
        return int(self._call("rateAt", region, at))

    def cheapest_route(self, from_region: int, to_region: int, at: int | None = None) -> Route:
        """The cheapest route with the rates in effect now (or at time ``at``)."""
        if at is None:
            route, total = self._call("cheapestRoute", from_region, to_region)
        else:
            route, total = self._call("cheapestRouteAt", from_region, to_region, at)
        return Route(route=[int(r) for r in route], sum_rate_fen_per_mwh=int(total))

    def transmission_fee(self, from_region: int, to_region: int, energy_wh: int) -> TransmissionFee:
        """Formula 1 on the cheapest route with the rates in effect now."""
        fee, route, total = self._call("transmissionFeeFen", from_region, to_region, energy_wh)
        return TransmissionFee(
            route=[int(r) for r in route],
            sum_rate_fen_per_mwh=int(total),
            energy_wh=energy_wh,
            fee_fen=int(fee),
        )

    def route_rate_at(self, route: Sequence[int], at: int) -> int:
        """The checked sum of the stamp rates of ``route`` at time ``at``."""
        return int(self._call("routeRateAt", list(route), at))

    def estimate_cheapest_route_gas(self, from_region: int, to_region: int) -> int:
        """Gas of a transaction calling ``cheapestRoute`` (eth_estimateGas, no margin).

        Includes the 21,000 intrinsic gas and the calldata; a contract calling the view
        pays the execution part plus its call overhead.
        """
        params: TxParams = {
            "from": self.sender.address,
            "to": self.address,
            "data": HexBytes(self.encode("cheapestRoute", from_region, to_region)),
        }
        try:
            return int(self.sender.w3.eth.estimate_gas(params))
        except (ContractLogicError, Web3RPCError) as exc:
            decoded = self.sender.decoder.from_exception(exc)
            if decoded is None:
                raise
            raise decoded from exc
