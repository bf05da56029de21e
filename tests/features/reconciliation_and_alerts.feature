Feature: Operations start their day from the reconciliation breaks and the night's alerts
  Breaks between the bank's books and the custodians' statements age in business days until
  they are resolved; alerts are raised once per condition and published where operations read them.

  Scenario: A break that persists two days ages and is resolved on the third
    Given three business days with a break that persists two days
    When reconciliation runs each night through Airflow
    Then the break is open on the first night, new
    And it is still open on the second night, one business day old, first seen on the first night
    And it is resolved on the third night
    And every night has its report in S3 and its summary event in Kafka

  Scenario: A spike of settlement fails is raised once and stays open without being raised again
    Given a counterparty whose settlement fails jump far above its usual level on two nights in a row
    When the alert DAG runs through Airflow on each of the two nights
    Then the first night raises a new alert for the counterparty and publishes it to Kafka
    And the second night keeps the alert open without raising it again
