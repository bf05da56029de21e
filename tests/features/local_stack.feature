Feature: The local stack a developer starts with one command
  Operations engineers rely on every service being reachable the way the pipelines reach them.

  Scenario: Every service answers through the pipelines' own connections
    Given the local stack is up
    When the stack smoke DAG is triggered from the Airflow REST API
    Then the run succeeds
    And the warehouse, S3, Kafka and MLflow each answered
