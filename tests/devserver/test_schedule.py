"""The local timing of the app's scheduled functions."""

import app as parley
from devserver import lambdas, schedule


def _timings():
    return {entry.name: schedule.timing(entry) for entry in lambdas.find(parley.app).schedules}


def test_the_minute_sweep_runs_every_15_s_and_the_nightly_purge_hourly():
    assert _timings() == {"sweep_absent_participants": (15, 15),
                          "purge_old_meetings": (schedule.CRON_FIRST_RUN, 3600)}


def test_a_short_retention_purges_as_often_as_the_retention_period(monkeypatch):
    monkeypatch.setenv("PARLEY_RETENTION_HOURS", "0.01")  # 36 s
    assert _timings()["purge_old_meetings"] == (36, 36)
    monkeypatch.setenv("PARLEY_RETENTION_HOURS", "0")
    assert _timings()["purge_old_meetings"] == (schedule.CRON_MIN_INTERVAL,
                                                schedule.CRON_MIN_INTERVAL)
