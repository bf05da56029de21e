"""The platform's own checks (owner data-platform): ``tasks`` (the tasks of ``stack_smoke`` and
``business_calendar_heartbeat``) and ``stack`` (one round trip through each service)."""
