"""
### Operations events relay

**Owner:** data-platform

**What it does.** Every 10 minutes, delivers to Kafka the operations events (`task_failed`,
`deadline_missed` on `ops.airflow.events`) that the failure and deadline callbacks could not
publish themselves because Kafka was down. The callbacks store every event in the PostgreSQL
outbox (`events.outbox`) before publishing it; an event Kafka has not acknowledged stays pending
there until this DAG publishes it (idempotent producer, acks=all, 30 s delivery timeout) and
records its delivery (`events.outbox_deliveries`). Each key is delivered once; a crash between
Kafka's acknowledgement and the record sends the same key again, which consumers drop (they
deduplicate by key). See docs/operations.md, Operations events.

**Inputs and outputs.** Connections `warehouse_postgres` (reads the outbox, records deliveries)
and `kafka_markets`. Output: the pending events on their topics; the task's return value
(XCom) says how many it delivered.

**How to triage.** A failed run means Kafka did not acknowledge the pending events within the
timeout (the log names the topic and the first errors; check `make status` and
`var/log/kafka.log`), or the warehouse refused the relay (the log has the database error). The
events stay pending: nothing is lost, the next run delivers them. What is pending:
`SELECT * FROM events.outbox o WHERE NOT EXISTS (SELECT FROM events.outbox_deliveries d
WHERE (d.topic, d.event_key) = (o.topic, o.event_key))` as `reporting_reader`.

**How to rerun.** Trigger it (no parameters) once Kafka is back, or wait for the next run;
a run with nothing pending publishes nothing. Two runs never publish the same batch (an
advisory lock lets one relay run at a time).
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import dag, task
from include.markets_ops.airflow import schedules
from include.markets_ops.airflow.defaults import Owner, Tag, default_args


@dag(
    # Not tied to the nightly runs: a failure after the night's last run, or a missed deadline,
    # must not wait for tomorrow's runs to be delivered.
    schedule=dt.timedelta(minutes=10),
    start_date=schedules.START_DATE,
    catchup=False,
    doc_md=__doc__,
    tags=[Tag.PLATFORM],
    default_args=default_args(Owner.DATA_PLATFORM),
    max_active_runs=1,
    dagrun_timeout=dt.timedelta(minutes=9),
)
def ops_events_relay() -> None:
    @task
    def relay_events() -> dict:
        from include.markets_ops.ops_events import tasks

        return tasks.relay_events()

    relay_events()


ops_events_relay()
