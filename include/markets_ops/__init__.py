"""Markets Operations pipelines: the logic behind the DAGs, plain Python with unit tests."""
