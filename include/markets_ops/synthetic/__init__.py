"""Synthetic Markets Operations data with known ground truth.

A business date's data (the trades booked that day, the custodians' statement of open trades,
the settlement outcomes reported that day, the injected breaks and malformed rows) is a pure
function of the world's configuration (seed, epoch, volumes, rates), the date and the
reference data derived from the seed: no state is carried from one day to the next, so the
feed DAG can generate exactly one day and a rerun or backfill reproduces the same rows.

Modules:
  config       the world's parameters (GeneratorConfig) and their defaults
  identifiers  ISIN and LEI codes with valid check digits
  reference    currencies, counterparties, instruments, SSIs, counterparty fail propensities
  fail_model   the logistic model of the true settlement-fail probability
  bookings     the trades booked on one business date, with their whole lifecycle
  daily        one business date's files: trades, custodian statement, outcomes, ground truth
  bad_rows     malformed rows injected into the upstream files
  tables       Arrow columns of the above (written as CSV by feed/landing.py)
  seed         seeding a history straight into the warehouse (python -m ... seed)
  upstream     the simulated upstream systems: a business date delivered to the landing area
  tasks        the feed DAG's first task, which runs them

The synthetic world uses the feed (the landing layout, the sources, the loader) to deliver and
seed its data; the feed never imports the synthetic world.

See docs/synthetic-data.md for the model, its coefficients and the rates.
"""
