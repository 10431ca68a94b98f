"""The variables every template may use: the contract between the compiler (which
refuses unknown names at validate time) and the renderer (which provides them)."""

from __future__ import annotations

# Top-level names in a template's context. `contact` holds id, external_id, email, phone,
# first_name, last_name, locale, timezone; the others are the contact's profile.
TEMPLATE_VARIABLES: frozenset[str] = frozenset(
    {
        "contact",  # {id, external_id, email, phone, first_name, last_name, locale, timezone}
        "stage",  # lifecycle stage, e.g. "mql"
        "temperature",  # "cold" | "warm" | "hot"
        "score",  # global lead score
        "scores",  # {level: score}
        "tags",  # [str]
        "attributes",  # {name: value}
        "journey",  # {id, title}
        "step",  # {id}
        "unsubscribe_url",
        "preferences_url",
        "confirm_url",  # double opt-in confirmation link (signed, expiring)
    }
)
