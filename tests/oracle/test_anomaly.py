from __future__ import annotations

import math

from oracle.anomaly import AnomalyDetector, Point


def _series(n: int, start: int = 0, base: float = 2000.0) -> list[Point]:
    points: list[Point] = []
    reg = 0
    for k in range(n):
        t = start + k * 900
        hour = (t % 86_400) / 3600
        value = int(base * (1 + 0.3 * math.sin(2 * math.pi * hour / 24)) + (k * 37) % 50)
        reg += value
        points.append(Point(t, value, 0, value // 3, reg, 0))
    return points


def _next(history: list[Point], value: int, skip: int = 0) -> Point:
    last = history[-1]
    return Point(
        last.interval_start + 900 * (1 + skip),
        value,
        0,
        value // 3,
        last.import_register_wh + value,
        0,
    )


def test_normal_readings_are_not_flagged() -> None:
    detector = AnomalyDetector()
    series = _series(300)
    flagged = [detector.check("m", series[:k], series[k], 12_500) for k in range(1, len(series))]
    assert sum(1 for f in flagged if f) == 0


def test_sudden_jump_gap_stuck_and_register_mismatch() -> None:
    detector = AnomalyDetector()
    history = _series(200)
    assert "jump" in detector.check("m", history, _next(history, 11_000), 12_500)
    assert "gap" in detector.check("m", history, _next(history, 2100, skip=2), 12_500)
    bad_register = Point(
        history[-1].interval_start + 900, 2000, 0, 600, history[-1].import_register_wh + 5, 0
    )
    assert "register_mismatch" in detector.check("m", history, bad_register, 12_500)
    stuck = list(history)
    for _ in range(12):
        stuck.append(_next(stuck, 1234))
    assert "stuck" in detector.check("m", stuck, _next(stuck, 1234), 12_500)


def test_isolation_forest_is_deterministic_and_flags_outliers() -> None:
    history: list[Point] = []
    reg = 0
    for k in range(300):  # 500 Wh at night, 3000 Wh by day
        t = k * 900
        value = 500 + 2500 * (8 <= (t % 86_400) / 3600 < 20) + (k * 37) % 50
        reg += value
        history.append(Point(t, value, 0, value // 3, reg, 0))
    last = history[-1]  # the next interval is at 03:00

    def at_night(value: int) -> Point:
        return Point(
            last.interval_start + 900, value, 0, value // 3, last.import_register_wh + value, 0
        )

    # A day-time value at night: each feature is in range, the combination is not.
    a = AnomalyDetector().check("m", history, at_night(3000), 12_500)
    b = AnomalyDetector().check("m", history, at_night(3000), 12_500)
    assert a == b
    assert "outlier" in a
    assert AnomalyDetector().check("m", history, at_night(520), 12_500) == []
