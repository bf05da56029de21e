"""The project's one kind of error that no retry can fix.

Every validation failure, refused business date and broken contract raises a subclass of
``BadInputError``; the tasks let it reach Airflow, and the retry policy every DAG shares
(airflow/retries.py) fails the task at once, on its first try. Kept free of imports, so the
logic modules, the tasks and the policy can all name it.
"""

from __future__ import annotations


class BadInputError(Exception):
    """The input, a parameter or a contract is wrong: a retry would fail the same way."""
