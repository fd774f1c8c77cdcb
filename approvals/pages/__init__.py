"""Console pages for reviewers (the live queue) and admins (tiers, rules, dry run)."""
