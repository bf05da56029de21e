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
