"""The marketing model: contact import, lead scoring, lifecycle stages (and, beside them,
segments, automation rules and reports). Declared in YAML under journeys/, checked against
schemas/, applied to events through engine.events.EVENT_HOOKS. See docs/ARCHITECTURE.md."""
