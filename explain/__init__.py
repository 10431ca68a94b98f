"""`cli.py explain CONTACT`: why a contact got, or did not get, a message. Reads the store
(store_side), the journeys' deployed versions (not_in) and Temporal (runs: state query and
histories), and renders one timeline (render). See docs/explain.md."""
