"""The night benchmark's critical path and overhead (benchmarks/night_timeline.py)."""

from __future__ import annotations

import datetime as dt

from benchmarks.night_timeline import TaskRun, critical_path, overhead

MIDNIGHT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def task(dag_id: str, task_id: str, start: float, end: float, map_index: int = -1) -> TaskRun:
    return TaskRun(
        dag_id=dag_id,
        task_id=task_id,
        map_index=map_index,
        ti_id=f"{dag_id}.{task_id}.{map_index}",
        scheduled=None,
        queued=MIDNIGHT + dt.timedelta(seconds=start - 1),
        started=MIDNIGHT + dt.timedelta(seconds=start),
        ended=MIDNIGHT + dt.timedelta(seconds=end),
    )


# feed: load (0-10); scoring: score (12-40) after the feed; recon: reconcile (13-20) after the
# feed; alerts: rule[0] (42-45), rule[1] (46-50: waited for rule[0]'s slot), publish (51-52).
FEED_LOAD = task("feed", "load", 0, 10)
SCORE = task("scoring", "score", 12, 40)
RECONCILE = task("recon", "reconcile", 13, 20)
RULE_0 = task("alerts", "rule", 42, 45, map_index=0)
RULE_1 = task("alerts", "rule", 46, 50, map_index=1)
PUBLISH = task("alerts", "publish", 51, 52)
NIGHT = [FEED_LOAD, SCORE, RECONCILE, RULE_0, RULE_1, PUBLISH]
UPSTREAM_TASKS = {("alerts", "publish"): {"rule"}}
STARTED_BY = {"scoring": {"feed"}, "recon": {"feed"}, "alerts": {"scoring", "recon"}}


def test_the_critical_path_follows_what_released_each_task_to_the_first() -> None:
    path = critical_path(NIGHT, UPSTREAM_TASKS, STARTED_BY)

    # rule[1] waited for its sibling, not for scoring; the alerts for scoring, the slower of the two.
    assert path == [FEED_LOAD, SCORE, RULE_0, RULE_1, PUBLISH]


def test_the_overhead_is_the_wall_time_the_path_spent_outside_tasks() -> None:
    path = critical_path(NIGHT, UPSTREAM_TASKS, STARTED_BY)

    measured = overhead(path, MIDNIGHT - dt.timedelta(seconds=2), MIDNIGHT + dt.timedelta(seconds=53))

    assert measured.wall_seconds == 55
    assert measured.task_seconds == 10 + 28 + 3 + 4 + 1
    assert measured.seconds == 9
    assert measured.share == 9 / 55


def test_a_task_that_started_before_another_ended_did_not_wait_for_it() -> None:
    overlapping = task("alerts", "rule", 39, 45, map_index=0)  # began before scoring ended

    path = critical_path([FEED_LOAD, SCORE, RECONCILE, overlapping], {}, STARTED_BY)

    assert path == [FEED_LOAD, RECONCILE, overlapping]


def test_a_task_instance_reads_from_the_rest_api_form() -> None:
    instance = {
        "id": "0199-uuid",
        "task_id": "run_rule",
        "map_index": 3,
        "state": "success",
        "scheduled_when": "2026-06-01T00:00:00+00:00",
        "queued_when": "2026-06-01T00:00:01+00:00",
        "start_date": "2026-06-01T00:00:03.500000+00:00",
        "end_date": "2026-06-01T00:00:05+00:00",
    }

    run = TaskRun.from_api("ops_sql_alerts", instance)

    assert (run.label, run.seconds, run.queued_seconds) == ("ops_sql_alerts.run_rule[3]", 1.5, 2.5)
