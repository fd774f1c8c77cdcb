"""Bounds on everything a client may put in a suite: counts, sizes, depth. Checked at the
boundary (evals/services/suites.py) so nothing over them reaches a worker or the database."""

MAX_SUITES_PER_AGENT = 100
MAX_CASES_PER_SUITE = 1000
MAX_NAME_CHARS = 200
MAX_DESCRIPTION_CHARS = 2000
MAX_INPUT_CHARS = 100_000
MAX_CHECKS_PER_CASE = 20
MAX_FIXTURES_PER_CASE = 100
MAX_LIVE_TOOLS = 32
# The fixtures of one case as JSON: recorded results are copied into every run's task.
MAX_FIXTURES_CHARS = 256_000
# One check spec as JSON (a rubric is its largest part).
MAX_CHECK_CHARS = 8000
MAX_RUBRIC_CHARS = 4000
MAX_EXPECTED_CALLS = 50
MAX_ARG_CONSTRAINTS = 30
# Nesting of an expected argument value (a literal object inside an object ...).
MAX_JSON_DEPTH = 8
# What a check result keeps of an explanation, and a judge of the run's text.
MAX_DETAIL_CHARS = 500
MAX_JUDGE_TEXT_CHARS = 20_000
# A case's checks read at most this many of its task's tool calls.
MAX_OBSERVED_CALLS = 500
