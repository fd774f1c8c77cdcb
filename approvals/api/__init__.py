"""REST routes for the risk policy and the approval queue; mounted in console/api.py."""
