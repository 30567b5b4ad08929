"""The local timing of the app's scheduled functions."""

import app as parley
from devserver import lambdas, schedule


def _timings():
    return {entry.name: schedule.timing(entry) for entry in lambdas.find(parley.app).schedules}


def test_the_minute_sweep_runs_every_15_s_and_the_nightly_purge_hourly():
    assert _timings() == {"sweep_absent_participants": (15, 15),
                          "purge_old_meetings": (schedule.CRON_FIRST_RUN, 3600)}
