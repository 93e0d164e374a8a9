"""The classifier: deterministic training, the shipped model, held-out detection quality."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from eth_utils.crypto import keccak

from node.surveillance.indicators import schema_hash
from node.surveillance.model import (
    DEFAULT_PLAN,
    MODELS_DIR,
    Metrics,
    Source,
    SurveillanceError,
    SurveillanceModel,
    TrainingPlan,
    model_id_of,
    train,
)
from node.surveillance.simulate import simulate_preset

#: Fresh scenarios: seeds used nowhere in training, validation or the reported test set.
FRESH = [Source(preset="jibei-mini", seed=s) for s in (31, 32, 33)] + [
    Source(preset="surveil-medium", seed=131)
]
#: How far the fresh-scenario precision and recall may fall below the reported ones
#: (about three standard errors at a few hundred examples).
TOLERANCE = 0.1


@pytest.fixture(scope="module")
def shipped() -> SurveillanceModel:
    return SurveillanceModel.load()


def test_simulation_is_seeded_and_deterministic() -> None:
    a = simulate_preset("jibei-mini", 5, days=3)
    assert (
        a.history.model_dump_json()
        == simulate_preset("jibei-mini", 5, days=3).history.model_dump_json()
    )
    assert (
        a.history.model_dump_json()
        != simulate_preset("jibei-mini", 6, days=3).history.model_dump_json()
    )
    assert {k.value for k in a.labels.values() if k is not None} == {
        "wash_trading",
        "price_manipulation",
        "withholding",
        "deviation_abuse",
        "rating_ring",
    }


def test_training_is_deterministic_same_file_same_id() -> None:
    plan = TrainingPlan(
        train=[Source(preset="jibei-mini", seed=s) for s in (1, 2)],
        validation=[Source(preset="jibei-mini", seed=3)],
        test=[Source(preset="jibei-mini", seed=4)],
        days=7,
        n_estimators=20,
    )
    first, second = train(plan), train(plan)
    assert first.data == second.data
    assert first.metadata.model_id == second.metadata.model_id == model_id_of(first.data)
    assert first.metadata == second.metadata


def test_shipped_model_file_hashes_to_its_id(shipped: SurveillanceModel) -> None:
    path = MODELS_DIR / f"{shipped.model_id}.pkl"
    data = path.read_bytes()
    assert shipped.model_id == "0x" + keccak(data).hex()
    assert len(data) < 2_000_000
    meta = shipped.metadata
    assert meta.schema_hash == schema_hash()
    assert meta.plan == DEFAULT_PLAN
    assert meta.file_bytes == len(data)
    assert 0 < meta.threshold_ppm < 1_000_000
    # Training, validation and test scenarios are disjoint.
    sets = [set(meta.plan.train), set(meta.plan.validation), set(meta.plan.test)]
    assert not (sets[0] & sets[1])
    assert not (sets[0] & sets[2])
    assert not (sets[1] & sets[2])
    assert not set(FRESH) & (sets[0] | sets[1] | sets[2])


def test_a_tampered_model_file_is_refused(shipped: SurveillanceModel, tmp_path: Path) -> None:
    for suffix in ("pkl", "json"):
        shutil.copy(MODELS_DIR / f"{shipped.model_id}.{suffix}", tmp_path)
    pkl = tmp_path / f"{shipped.model_id}.pkl"
    data = bytearray(pkl.read_bytes())
    data[-10] ^= 1
    pkl.write_bytes(bytes(data))
    with pytest.raises(SurveillanceError, match="does not hash to its id"):
        SurveillanceModel.load(shipped.model_id, tmp_path)
    with pytest.raises(SurveillanceError, match="not found"):
        SurveillanceModel.load("0x" + "00" * 32, tmp_path)


@pytest.fixture(scope="module")
def fresh_metrics(shipped: SurveillanceModel) -> Metrics:
    return shipped.evaluate(FRESH)


def test_held_out_violators_are_caught_at_the_reported_precision_and_recall(
    shipped: SurveillanceModel, fresh_metrics: Metrics
) -> None:
    reported = shipped.metadata.test
    assert fresh_metrics.positives > 50
    assert fresh_metrics.precision >= reported.precision - TOLERANCE
    assert fresh_metrics.recall >= reported.recall - TOLERANCE
    assert fresh_metrics.roc_auc >= reported.roc_auc - 0.03
    # Every kind is caught at least sometimes.
    assert set(fresh_metrics.recall_by_kind) == set(reported.recall_by_kind)
    assert all(r > 0 for r in fresh_metrics.recall_by_kind.values())


@pytest.mark.slow
def test_reported_held_out_metrics_reproduce_exactly(shipped: SurveillanceModel) -> None:
    assert shipped.evaluate() == shipped.metadata.test
