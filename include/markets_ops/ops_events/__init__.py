"""The operations events' relay (owner data-platform): ``tasks`` (the task of ``ops_events_relay``).
The outbox itself, which the Airflow callbacks write to, is airflow/outbox.py."""
