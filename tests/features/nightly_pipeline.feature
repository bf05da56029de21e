Feature: The nightly pipeline scores, reconciles and alerts for a business day
  After the close, the day's trades land; the champion model scores every pending trade,
  reconciliation finds the breaks against the custodians' statements, and the alert rules
  tell operations what needs action in the morning.

  Scenario: A business day runs end to end through Airflow
    Given a history of booked trades and a champion model
    When the nightly pipeline runs for the next business day through Airflow
    Then every pending trade of the day is scored once, by the champion
    And the day's scores are in S3 with a manifest that counts them
    And every high-risk trade of the day is on the Kafka topic settlement-risk.high
    And the day's open reconciliation breaks are exactly the injected ones
    And the night's alerts are recorded with their summary in S3
