"""Deploying journeys: `plan` (what would change) and `apply` (do it), plus the
operations around deployed journeys (migration, draining, enrolment, status)."""
