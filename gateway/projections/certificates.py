"""Green certificates (GreenCertificate, ERC-1155) and renewable quotas (QuotaLedger).

A token id is ``typeId << 248 | generator << 64 | vintage`` (IGreenCertificate.sol); it is
kept as a decimal string. Amounts are whole certificates (1 certificate = 1 MWh).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from gateway.decode import DecodedEvent
from gateway.projections.base import (
    Projector,
    SkipEvent,
    arg,
    as_addr,
    as_int,
    created_by,
    get_row,
    need_addr,
    need_int,
    upsert,
)
from gateway.tables import (
    CertificateHolding,
    CertificateRetirement,
    CertificateToken,
    Quota,
    QuotaPeriod,
    table_of,
)

#: Certificate type ids (NodeRegistry's ``NodeKind``: 2 Wind, 3 Solar, 4 Hydro, 5 Biomass).
SOURCES = {2: "wind", 3: "solar", 4: "hydro", 5: "biomass"}
ZERO = "0x" + "00" * 20
TOKENS = table_of(CertificateToken)
HOLDINGS = table_of(CertificateHolding)
RETIREMENTS = table_of(CertificateRetirement)
QUOTAS = table_of(Quota)
PERIODS = table_of(QuotaPeriod)


def token_id(value: Any) -> str:
    """A uint256 token id argument as its canonical decimal string."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise SkipEvent(f"token id {value!r} is not an integer") from None
    if not 0 <= number < 2**256:
        raise SkipEvent(f"token id {value!r} is out of range")
    return str(number)


def split_token(token: str) -> tuple[int, str, int]:
    """(typeId, generator, vintage) of a token id."""
    number = int(token)
    generator = as_addr("0x" + f"{(number >> 64) & (2**160 - 1):040x}") or ZERO
    return number >> 248, generator, number & (2**64 - 1)


def _amount(value: Any) -> int:
    number = as_int(value)
    if number is None or number < 0:
        raise SkipEvent(f"amount {value!r} is not a 64-bit count")
    return number


class CertificatesProjector(Projector):
    name = "certificates"
    events = frozenset(
        {
            "CertificatesIssued",
            "TransferSingle",
            "TransferBatch",
            "CertificatesRetired",
            "CertificatesRevoked",
            "QuotaSet",
            "CoverageCredited",
            "ComplianceAssessed",
        }
    )
    models = (CertificateToken, CertificateHolding, CertificateRetirement, Quota, QuotaPeriod)
    mutable = True

    def apply(self, conn: Connection, ev: DecodedEvent) -> None:
        if ev.event in ("TransferSingle", "TransferBatch"):
            if ev.contract not in ("GreenCertificate", "Certificates"):
                return  # another ERC-1155 would not be certificates
            self._transfer(conn, ev)
        elif ev.event == "CertificatesIssued":
            self._issued(conn, ev)
        elif ev.event == "CertificatesRetired":
            self._retired(conn, ev)
        elif ev.event == "CertificatesRevoked":
            token = self._token(conn, ev, token_id(arg(ev, "tokenId", required=True)))
            upsert(
                conn,
                TOKENS,
                {"token_id": token["token_id"]},
                {
                    "revoked": token["revoked"] + _amount(arg(ev, "amount")),
                    "block_number": ev.block_number,
                },
            )
        elif ev.event == "QuotaSet":
            upsert(
                conn,
                PERIODS,
                {"period": need_int(ev, "period")},
                {
                    "weight_bps": as_int(arg(ev, "weightBps")),
                    "deadline": as_int(arg(ev, "deadline")),
                    "fine_rate_fen_per_mwh": as_int(arg(ev, "fineRateFenPerMwh")),
                    "regulator": as_addr(arg(ev, "regulator")),
                    "block_number": ev.block_number,
                },
            )
        elif ev.event == "CoverageCredited":
            self._covered(conn, ev)
        else:
            self._assessed(conn, ev)

    def _token(self, conn: Connection, ev: DecodedEvent, token: str) -> dict[str, Any]:
        """The token's row, created from its id when the issue event was not seen."""
        row = get_row(conn, TOKENS, token_id=token)
        if row is not None:
            return row
        type_id, generator, vintage = split_token(token)
        values = {
            "token_id": token,
            "type_id": type_id,
            "source": SOURCES.get(type_id),
            "generator": generator,
            "vintage": vintage,
            "issued": 0,
            "retired": 0,
            "revoked": 0,
            **created_by(ev),
        }
        upsert(
            conn, TOKENS, {"token_id": token}, {k: v for k, v in values.items() if k != "token_id"}
        )
        return values

    def _issued(self, conn: Connection, ev: DecodedEvent) -> None:
        token = token_id(arg(ev, "tokenId", required=True))
        row = self._token(conn, ev, token)
        type_id = as_int(arg(ev, "typeId"))
        if type_id is None:
            type_id = row["type_id"]
        upsert(
            conn,
            TOKENS,
            {"token_id": token},
            {
                "type_id": type_id if type_id is not None else row["type_id"],
                "source": SOURCES.get(type_id, row["source"])
                if type_id is not None
                else row["source"],
                "generator": as_addr(arg(ev, "generator")) or row["generator"],
                "vintage": as_int(arg(ev, "period")) or row["vintage"],
                "issued": row["issued"] + _amount(arg(ev, "amount", required=True)),
                "generation_wh": as_int(arg(ev, "generationWh")),
                "carried_in_wh": as_int(arg(ev, "carriedInWh")),
                "carried_out_wh": as_int(arg(ev, "carriedOutWh")),
                **created_by(ev),
            },
        )

    def _transfer(self, conn: Connection, ev: DecodedEvent) -> None:
        source = need_addr(ev, "from")
        target = need_addr(ev, "to")
        if ev.event == "TransferSingle":
            moves = [(arg(ev, "id", required=True), arg(ev, "value", required=True))]
        else:
            ids, values = arg(ev, "ids", required=True), arg(ev, "values", required=True)
            if not isinstance(ids, list) or not isinstance(values, list) or len(ids) != len(values):
                raise SkipEvent("TransferBatch ids and values do not match")
            moves = list(zip(ids, values, strict=True))
        for raw_id, raw_amount in moves:
            token = token_id(raw_id)
            amount = _amount(raw_amount)
            self._token(conn, ev, token)
            for holder, delta in ((source, -amount), (target, amount)):
                if int(holder, 16) == 0:  # mint or burn
                    continue
                row = get_row(conn, HOLDINGS, token_id=token, holder=holder)
                upsert(
                    conn,
                    HOLDINGS,
                    {"token_id": token, "holder": holder},
                    {
                        "amount": (row or {}).get("amount", 0) + delta,
                        "block_number": ev.block_number,
                    },
                )

    def _retired(self, conn: Connection, ev: DecodedEvent) -> None:
        token = token_id(arg(ev, "tokenId", required=True))
        amount = _amount(arg(ev, "amount", required=True))
        row = self._token(conn, ev, token)
        upsert(
            conn,
            TOKENS,
            {"token_id": token},
            {"retired": row["retired"] + amount, "block_number": ev.block_number},
        )
        upsert(
            conn,
            RETIREMENTS,
            {"retirement_id": need_int(ev, "retirementId")},
            {
                "token_id": token,
                "holder": as_addr(arg(ev, "holder")),
                "beneficiary": as_addr(arg(ev, "beneficiary")),
                "amount": amount,
                "period": as_int(arg(ev, "period")),
                "trade_id": as_int(arg(ev, "tradeId")) or None,
                "retired_by": as_addr(arg(ev, "by")),
                "block_number": ev.block_number,
                "block_time": ev.block_time,
                "tx_hash": ev.tx_hash,
            },
        )

    def _covered(self, conn: Connection, ev: DecodedEvent) -> None:
        party = need_addr(ev, "party")
        period = need_int(ev, "period")
        covered = as_int(arg(ev, "coveredWh"))
        quota = get_row(conn, QUOTAS, party=party, period=period)
        total = as_int(arg(ev, "totalCoveredWh"))
        if total is None:
            total = (quota or {}).get("covered_wh", 0) + (covered or 0)
        values: dict[str, Any] = {"covered_wh": total, "block_number": ev.block_number}
        if quota is None:
            values["assessed"] = False
        upsert(conn, QUOTAS, {"party": party, "period": period}, values)
        retirement = as_int(arg(ev, "retirementId"))
        if retirement is not None and get_row(conn, RETIREMENTS, retirement_id=retirement):
            upsert(conn, RETIREMENTS, {"retirement_id": retirement}, {"covered_wh": covered})

    def _assessed(self, conn: Connection, ev: DecodedEvent) -> None:
        party = need_addr(ev, "party")
        period = need_int(ev, "period")
        quota = get_row(conn, QUOTAS, party=party, period=period)
        covered = as_int(arg(ev, "coveredWh"))
        if covered is None:
            covered = (quota or {}).get("covered_wh", 0)
        upsert(
            conn,
            QUOTAS,
            {"party": party, "period": period},
            {
                "obligation_wh": as_int(arg(ev, "obligationWh")),
                "covered_wh": covered
                if covered is not None
                else (quota or {}).get("covered_wh", 0),
                "shortfall_wh": as_int(arg(ev, "shortfallWh")),
                "fine_fen": as_int(arg(ev, "fineFen")),
                "paid_fen": as_int(arg(ev, "paidFen")),
                "slashed_fen": as_int(arg(ev, "slashedFen")),
                "unpaid_fen": as_int(arg(ev, "unpaidFen")),
                "assessed": True,
                "block_number": ev.block_number,
            },
        )


PROJECTOR = CertificatesProjector()
