"""Project code the DAGs call (Astronomer layout: importable as ``include.<package>``)."""
