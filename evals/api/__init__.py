"""REST routes for eval suites, cases and runs; mounted on the API in console/api.py."""
