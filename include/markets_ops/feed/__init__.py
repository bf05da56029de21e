"""The upstream feed (DAG ``ops_demo_feed``): ``tasks`` (the DAG's load tasks), ``sources`` (each
source's file layout, columns and rules, declared once), ``landing`` (the landing area's layout
and file format) and ``loader`` (COPY, validation in SQL, quarantine, merge). The simulated
upstream systems that deliver the files are the synthetic world's (synthetic/upstream.py): the
feed never imports them."""
