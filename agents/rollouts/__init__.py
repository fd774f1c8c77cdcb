"""Canary rollouts of agent versions: the split of new sessions, the live comparison of the two
arms, promotion, roll back by a person or by the judge (docs/rollout.md)."""
