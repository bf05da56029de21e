# The Airflow image: the official apache/airflow base, pinned to the project's Airflow and
# Python versions, plus the project's locked requirements and code (Astronomer layout).
# Build: docker build -t markets-ops-airflow:$(git rev-parse --short HEAD) .
# (Pin the base by digest too in your registry mirror: FROM apache/airflow:3.3.2-python3.11@sha256:...)
FROM apache/airflow:3.3.2-python3.11

# Installing with the same apache-airflow pin as the base keeps pip from up- or downgrading it.
COPY --chown=airflow:0 requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir "apache-airflow==3.3.2" -r /tmp/requirements.txt

# model_pod/ too: the embedded job runtime (JOB_RUNTIME=local, the default) runs the model jobs
# as local processes of the worker (docs/pod-contract.md); its dependencies are in requirements.txt.
ENV PYTHONPATH=/opt/airflow:/opt/airflow/model_pod
COPY --chown=airflow:0 dags/ /opt/airflow/dags/
COPY --chown=airflow:0 plugins/ /opt/airflow/plugins/
COPY --chown=airflow:0 include/ /opt/airflow/include/
COPY --chown=airflow:0 model_pod/settlement_model/ /opt/airflow/model_pod/settlement_model/
COPY --chown=airflow:0 airflow_settings.yaml /opt/airflow/airflow_settings.yaml

# The apache-kafka provider's state events on ops.airflow.events (docs/events.md), set as the local
# stack's airflow.cfg sets them (devstack/airflow.py; tests/unit/devstack/test_airflow.py checks
# that they agree). Its connection, kafka_markets, must come from the environment
# (AIRFLOW_CONN_KAFKA_MARKETS, from the deployment's secret), not only the metadata database.
ENV AIRFLOW__KAFKA_EVENT_PRODUCER__DAG_RUN_EVENTS_ENABLED=True \
    AIRFLOW__KAFKA_EVENT_PRODUCER__TASK_INSTANCE_EVENTS_ENABLED=True \
    AIRFLOW__KAFKA_EVENT_PRODUCER__KAFKA_CONFIG_ID=kafka_markets \
    AIRFLOW__KAFKA_EVENT_PRODUCER__TOPIC=ops.airflow.events \
    AIRFLOW__KAFKA_EVENT_PRODUCER__SOURCE=markets-ops/airflow \
    AIRFLOW__KAFKA_EVENT_PRODUCER__TOPIC_CHECK_TIMEOUT=3

# OpenLineage (docs/lineage.md), set as the local stack sets it (the same test checks). Its
# connection, openlineage (the transport: Kafka, then the outbox), must come from the environment
# (AIRFLOW_CONN_OPENLINEAGE, from the deployment's secret): the scheduler looks it up too.
ENV AIRFLOW__OPENLINEAGE__NAMESPACE=markets-ops \
    AIRFLOW__OPENLINEAGE__CONFIG_CONN_ID=openlineage \
    AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD=True \
    AIRFLOW__OPENLINEAGE__EMISSION_POLICY='[{"scope":{},"controls":{"include_source_code":false}}]'
