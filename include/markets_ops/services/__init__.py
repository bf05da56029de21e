"""How the code reaches each service: one module per service, with the Airflow connection id
it is configured by and the one factory that opens its client.

The factories take plain settings (a libpq URL, ``s3.S3Settings``, a Kafka client
configuration, an MLflow tracking URI), never an Airflow connection id: DAG tasks and the
dashboard plugin get those settings from the Airflow connections (``airflow/connections.py``),
the demo and the tests from the local stack (``var/stack.env``), and all of them open the same
clients. Nothing here imports Airflow.
"""
