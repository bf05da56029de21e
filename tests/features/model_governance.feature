Feature: A model version replaces the champion only after it proved itself in shadow and a person approved it
  Model risk asks three things of every promotion: the challenger scored live trades beside the
  champion and did not do worse once their outcomes were known; a named approver, not the person
  who asked, approved it; and every step is recorded where an auditor finds it. A rollback is a
  promotion too: approved and recorded.

  Scenario: A challenger is shadow-scored, approved, promoted and rolled back
    Given a champion put in place by the training DAG with an approver's approval
    And the gate asks for 2 business days in shadow with 50 realised fails
    When a later training run trains a challenger
    Then the gate holds it as the challenger, because it has no shadow record beside the champion
    When the nightly scoring runs on 3 business days with the challenger in shadow
    Then the challenger scored every trade the champion scored, and only into ml.shadow_scores
    And each of those days is compared on the same realised trades in ml.shadow_comparisons
    When the standing challenger is gated again
    Then its approval request shows its shadow record beside the champion
    When the approver approves it
    Then it is the champion, and the audit row names the approver and keeps the shadow record
    When the approver approves a rollback
    Then the first champion is back, and the rollback is recorded with who approved it
