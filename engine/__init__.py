"""Running journeys: enrolment, events into running runs, and simulation.

Sits between the entry points (cli.py, the tracking server) and the workflow:
cli/server -> engine -> workflows/activities -> compiler/store.
"""
