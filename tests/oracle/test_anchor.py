from __future__ import annotations

import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ledger.clients.oracle import MeterOracleClient, reading_tuple
from ledger.context import LedgerContext
from ledger.errors import ContractRevertError
from oracle.merkle import MerkleTree
from oracle.periods import FixedPeriodCalendar
from oracle.proofs import ProofCheck, reading_model
from oracle.relay import OracleAlreadyRunningError, OracleLock
from oracle.schemas import ReadingBatch
from oracle.service import OracleService
from oracle.store import BatchRow, OutboxRow, ReadingRow
from scripts.meter_sim import SimMeter
from tests.conftest import role_account
from tests.oracle.conftest import Clock


def _feed(service: OracleService, meters: list[SimMeter], start: int, intervals: int) -> None:
    items = [
        m.sign(m.reading(start + k * 900), service.chain_id, service.meter_oracle.address)
        for k in range(intervals)
        for m in meters
    ]
    result = service.ingest(ReadingBatch(readings=items))
    assert result.rejected == 0, result


def _anchored(client: MeterOracleClient, from_block: int) -> list[int]:
    logs = client.contract.events.BatchAnchored().get_logs(from_block=from_block)
    return [int(log["args"]["batchId"]) for log in logs]


def test_batches_are_anchored_and_every_reading_verifies_on_chain(
    service: OracleService, meters: list[SimMeter], clock: Clock
) -> None:
    rng = random.Random(5)
    start = int(clock()) // 900 * 900 - 40 * 900
    cursor = start
    for _round in range(3):
        n = rng.randint(1, 6)
        _feed(service, meters, cursor, n)
        cursor += n * 900
        (batch_id,) = service.close_batches(force=True)
        assert service.relay.run_once() == 1
        with service.sessions() as s:
            rows = list(
                s.scalars(
                    select(ReadingRow)
                    .where(ReadingRow.batch_id == batch_id)
                    .order_by(ReadingRow.batch_index)
                )
            )
            batch = s.get(BatchRow, batch_id)
            assert batch is not None
        on_chain = service.meter_oracle.batch_of(batch_id)
        assert "0x" + on_chain.root.hex() == batch.root
        assert on_chain.reading_count == len(rows) == 3 * n
        tree = MerkleTree([bytes.fromhex(r.leaf[2:]) for r in rows])
        for row in rng.sample(rows, min(4, len(rows))):
            msg = reading_model(row).message()
            assert msg["voltageL1Dv"] == row.voltage_l1_dv > 0
            sig = bytes.fromhex(row.signature[2:])
            assert row.batch_index is not None
            proof = tree.proof(row.batch_index)
            assert service.meter_oracle.verify_reading(reading_tuple(msg), sig, batch_id, proof)
            for name in ("importWh", "powerFactorMilli", "voltageL2Dv", "currentL3Ma"):
                tampered = {**msg, name: msg[name] + 1}
                assert not service.meter_oracle.verify_reading(
                    reading_tuple(tampered), sig, batch_id, proof
                )
            assert not service.meter_oracle.verify_reading(
                reading_tuple(msg), sig, batch_id + 1, proof
            )
    assert service.meter_oracle.next_batch_id() == 4


def test_only_the_meter_oracle_anchors_and_ids_go_in_order(
    ctx: LedgerContext, operator_oracle: MeterOracleClient
) -> None:
    with pytest.raises(ContractRevertError) as info:
        operator_oracle.anchor_batch(1, b"\x01" * 32, 1, 0)
    assert info.value.name == "AccessControlUnauthorizedAccount"
    relayer = ctx.client(MeterOracleClient, role_account("METER_ORACLE"))
    receipt = relayer.anchor_batch(1, b"\x01" * 32, 3, 900)
    (event,) = relayer.events(receipt, "BatchAnchored")
    assert dict(event["args"]) == {
        "batchId": 1,
        "root": b"\x01" * 32,
        "readingCount": 3,
        "firstIntervalStart": 900,
    }
    with pytest.raises(ContractRevertError) as info:
        relayer.anchor_batch(1, b"\x02" * 32, 1, 0)
    assert (info.value.name, info.value.arguments) == (
        "UnexpectedBatchId",
        {"batchId": 1, "expected": 2},
    )


class Crash(BaseException):
    """A simulated kill of the oracle process."""


@pytest.mark.parametrize(("point", "automine"), [("signed", True), ("sent", True), ("sent", False)])
def test_killed_between_send_and_receipt_anchors_exactly_once(
    ctx: LedgerContext,
    sessions: sessionmaker[Session],
    oracle_account: LocalAccount,
    meters: list[SimMeter],
    clock: Clock,
    point: str,
    automine: bool,
) -> None:
    def crash(at: str, _row: OutboxRow) -> None:
        if at == point:
            raise Crash

    first = OracleService(
        ctx,
        sessions=sessions,
        account=oracle_account,
        calendar=FixedPeriodCalendar(3600),
        clock=clock,
        crash_hook=crash,
    )
    from_block = ctx.w3.eth.block_number
    _feed(first, meters, int(clock()) // 900 * 900 - 4 * 900, 2)
    first.close_batches(force=True)
    if not automine:
        ctx.w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    with pytest.raises(Crash):
        first.relay.run_once()
    with sessions() as s:
        row = s.scalars(select(OutboxRow)).one()
        assert row.status == "signed"  # written before sending
        assert row.raw_tx is not None
    if not automine:
        ctx.w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
    # Restart: a fresh context (fresh nonce cache) and service on the same database.
    restarted_ctx = LedgerContext(ctx.settings, w3=ctx.w3, manifest=ctx.manifest)
    second = OracleService(
        restarted_ctx,
        sessions=sessions,
        account=oracle_account,
        calendar=FixedPeriodCalendar(3600),
        clock=clock,
    )
    assert second.relay.run_once() == 1
    assert second.relay.run_once() == 0
    assert _anchored(second.meter_oracle, from_block) == [1]
    # what was anchored across the crash is the stored rows' readings, electrical fields too
    with sessions() as s:
        rows = list(
            s.scalars(
                select(ReadingRow).where(ReadingRow.batch_id == 1).order_by(ReadingRow.batch_index)
            )
        )
    tree = MerkleTree([bytes.fromhex(r.leaf[2:]) for r in rows])
    last = max(rows, key=lambda r: r.current_l1_ma)
    assert last.voltage_l1_dv > 0
    assert last.current_l1_ma > 0
    assert last.batch_index is not None
    assert second.meter_oracle.verify_reading(
        reading_tuple(reading_model(last).message()),
        bytes.fromhex(last.signature[2:]),
        1,
        tree.proof(last.batch_index),
    )
    with sessions() as s:
        done = s.scalars(select(OutboxRow)).one()
        assert done.status == "mined"
        assert done.tx_hash == row.tx_hash
    assert ctx.w3.eth.get_transaction_count(oracle_account.address) == row.nonce + 1
    # New work continues with the next batch and nonce: no gap.
    _feed(second, meters, int(clock()) // 900 * 900 - 2 * 900, 1)
    second.close_batches(force=True)
    assert second.relay.run_once() == 1
    assert _anchored(second.meter_oracle, from_block) == [1, 2]


def test_a_second_oracle_on_the_same_key_refuses_to_start(tmp_path: Path) -> None:
    address = "0x" + "ab" * 20
    with OracleLock(tmp_path, address):
        with pytest.raises(OracleAlreadyRunningError):
            OracleLock(tmp_path, address).acquire()
        script = textwrap.dedent(
            f"""
            from pathlib import Path
            from oracle.relay import OracleLock, OracleAlreadyRunningError
            try:
                OracleLock(Path({str(tmp_path)!r}), {address!r}).acquire()
            except OracleAlreadyRunningError:
                raise SystemExit(3)
            """
        )
        proc = subprocess.run([sys.executable, "-c", script], check=False, timeout=60)
        assert proc.returncode == 3
    with OracleLock(tmp_path, "0x" + "cd" * 20), OracleLock(tmp_path, address):
        pass  # released, and other keys never conflicted


def test_period_totals_are_posted_and_provable(
    ctx: LedgerContext,
    service: OracleService,
    meters: list[SimMeter],
    clock: Clock,
) -> None:
    period_s = service.period_s
    period = (int(clock()) - 3 * period_s) // period_s
    start = period * period_s
    _feed(service, meters, start, period_s // 900)
    service.close_batches(force=True)
    service.relay.run_once()
    with pytest.raises(Exception, match="late readings"):
        service.close_period(period)
    record = service.close_period(period, force=True)
    # The period root, then one submitNodeTotal per node behind it.
    assert service.relay.run_once() == 1 + len(meters)
    on_chain = service.meter_oracle.period_of(period)
    assert "0x" + on_chain.totals_root.hex() == record.totals_root
    assert (on_chain.node_count, on_chain.reading_count) == (3, 3 * period_s // 900)
    checker = ProofCheck(service.meter_oracle, service.chain_id)
    for n in range(1, len(meters) + 1):
        from ledger.keystore import demo_account

        node = demo_account(1000 + n).address
        proof = service.node_proof(node, period)
        assert proof.reading_count == period_s // 900
        assert checker.check(proof) == []
        assert proof.import_wh == sum(r.reading.import_wh for r in proof.readings)
        forged = proof.model_copy(update={"import_wh": proof.import_wh + 1})
        assert checker.check(forged, on_chain=False) != []
        total = (
            node,
            period,
            proof.import_wh,
            proof.export_wh,
            proof.reading_count,
            bytes.fromhex(proof.readings_root[2:]),
        )
        anyone = ctx.client(MeterOracleClient, demo_account(1000 + n))
        # The oracle already recorded it; anyone re-submitting the proof is refused.
        with pytest.raises(ContractRevertError) as info:
            anyone.submit_node_total(total, [bytes.fromhex(p[2:]) for p in proof.totals_proof])
        assert (info.value.name, info.value.arguments) == (
            "NodeTotalAlreadyRecorded",
            {"node": node, "period": period},
        )
        energy = anyone.metered_energy_of(node, period)
        assert energy.recorded
        assert energy.net_wh == proof.import_wh - proof.export_wh
        assert (energy.import_wh, energy.export_wh) == (proof.import_wh, proof.export_wh)
    # The period is closed: late readings for it are refused.
    late = meters[0].sign(
        meters[0].reading(start + period_s - 900 + 0),
        service.chain_id,
        service.meter_oracle.address,
    )
    result = service.ingest(ReadingBatch(readings=[late]))
    assert result.results[0].reason in ("period_closed", "replay")


def test_flagged_readings_are_held_out_until_a_verifier_decides(
    service: OracleService, meters: list[SimMeter], clock: Clock
) -> None:
    period_s = service.period_s
    period = (int(clock()) - 3 * period_s) // period_s
    start = period * period_s
    sim = meters[0]
    items = [sim.sign(sim.reading(start), service.chain_id, service.meter_oracle.address)]
    # A gap of one interval: the next reading is flagged.
    items.append(
        sim.sign(sim.reading(start + 2 * 900), service.chain_id, service.meter_oracle.address)
    )
    result = service.ingest(ReadingBatch(readings=items))
    assert [r.outcome for r in result.results] == ["accepted", "flagged"]
    assert result.results[1].flags == ["gap"]
    (pending,) = service.pending_review()
    with pytest.raises(Exception, match="await review"):
        service.close_period(period, force=True)
    with pytest.raises(Exception, match="does not hold VERIFIER"):
        service.review(pending.reading_id, "reject", meters[1].account.address)
    assert (
        service.review(pending.reading_id, "reject", role_account("VERIFIER").address) == "rejected"
    )
    service.close_period(period, force=True)
    service.relay.run_once()
    from ledger.keystore import demo_account

    proof = service.node_proof(demo_account(1001).address, period)
    assert proof.reading_count == 1  # the rejected reading is not counted
    assert ProofCheck(service.meter_oracle, service.chain_id).check(proof) == []
