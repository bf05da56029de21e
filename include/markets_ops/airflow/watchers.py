"""The assets a message starts: watched by the triggerer, one asset event per message.

``CUSTODIAN_STATEMENT_READY``: each "statement ready" message on ``ops.custodian.statements``
(statements/messages.py) becomes an asset event whose extra holds ``payload``, what
``messages.as_event`` made of the message (the statement, or the rule a malformed message
breaks, with its partition and offset). The ``custodian_statements`` DAG is scheduled on it.

How the offsets and the events stay in step (apache/airflow#64205): the provider's
``AwaitMessageTrigger`` commits a message's offset (synchronously, ``commit_offset``) before it
yields the event, then ends; the triggerer starts the watcher again, and its consumer resumes
after the committed offset. So a restart of the triggerer never replays a message that already
made an event (no stale runs). The window between the commit and the event being stored
(a triggerer killed in those milliseconds) can lose one announcement: the nightly feed's
consolidated statement and the reconciliation's timetable are the safety net for that date.
Separate module from assets.py so that only the DAG scheduled on it loads the messaging
provider at parse time.
"""

from __future__ import annotations

from airflow.providers.common.messaging.triggers.msg_queue import MessageQueueTrigger
from airflow.sdk import Asset, AssetWatcher
from settlement_model import lineage_names

from include.markets_ops.services.topics import CUSTODIAN_STATEMENTS

# The reader's identity, in its own consumer group (airflow_settings.yaml, devstack/kafka.py).
STATEMENT_WATCHER_CONN_ID = "kafka_statement_watcher"
# A logical broker name, like assets.WAREHOUSE: the same URI in every environment.
KAFKA = f"kafka://{lineage_names.KAFKA_HOST}"

CUSTODIAN_STATEMENT_READY = Asset(
    name=CUSTODIAN_STATEMENTS.name,
    uri=f"{KAFKA}/{CUSTODIAN_STATEMENTS.name}",
    group="kafka",
    watchers=[
        AssetWatcher(
            name="custodian_statements_watcher",
            trigger=MessageQueueTrigger(
                scheme="kafka",
                topics=[CUSTODIAN_STATEMENTS.name],
                apply_function="include.markets_ops.statements.messages.as_event",
                kafka_config_id=STATEMENT_WATCHER_CONN_ID,
                poll_timeout=1,
                poll_interval=1,
            ),
        )
    ],
)
