Feature: The upstream feed loads a business day and quarantines malformed rows
  Operations staff rely on every good row of the upstream files being loaded, and on every
  malformed row being kept with the rule it broke, so that they can chase it upstream.

  Scenario: Good rows are loaded and each bad row is quarantined with its rule
    Given a business day of trades with malformed rows
    When the feed runs for that business day through Airflow
    Then the run succeeds
    And every good row is loaded into the warehouse
    And each malformed row is quarantined with the rule it broke
    And the trades, confirmations and outcomes assets carry the business date
