"""Who an email is from: `from` and `reply_to` of a journey, else the defaults in sending.yaml.

The compiler resolves them into the IR (`Journey.sender`, `Journey.reply_to`), so the sender is
versioned and pinned with every run like the templates are; `NURTURE_SENDER` (activities.deps)
is only the worker's last default for journeys that name none. The SMTP envelope (MAIL FROM)
follows the From address, so SPF, and a DKIM signature added later, align with its domain.

Public API:
    address_problem(value) -> str | None      why `value` is not a usable "Name <address>"
    normalise(value) -> str                    the checked value, quoted where RFC 5322 needs it
    check_fields(doc, problems, at=()) -> dict positioned errors for `from`/`reply_to` under `at`
    journey_sender(path, doc, problems) -> (sender, reply_to)   journey value, else sending.yaml's
"""

from __future__ import annotations

import re
import unicodedata
from email.headerregistry import Address
from pathlib import Path
from typing import Any

from compiler.diagnostics import Problems
from compiler.yaml_loader import LoadedDoc

FIELDS = {"from": "sender", "reply_to": "reply_to"}  # YAML key -> IR field

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL = re.compile(rf"^{_ATOM}(\.{_ATOM})*$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
MAX_NAME = 100


def _control(text: str) -> str | None:
    """The first control or line-separator character in `text`, as U+XXXX."""
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Zl", "Zp"):
            return f"U+{ord(ch):04X}"
    return None


def _split(value: str) -> tuple[str, str]:
    """("display name", "addr@domain") of `Name <addr>` or of a bare address."""
    text = value.strip()
    if text.endswith(">") and "<" in text:
        at = text.rindex("<")
        name = text[:at].strip()
        if len(name) >= 2 and name[0] == name[-1] == '"':
            name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        return name, text[at + 1 : -1].strip()
    return "", text


def _addr_problem(addr: str) -> str | None:
    if addr.count("@") != 1:
        return "an address is local-part@domain"
    local, domain = addr.split("@")
    if not _LOCAL.match(local) or len(local) > 64:
        return f'"{local}" is not a valid local part (letters, digits, . and !#$%&\'*+/=?^_`{{|}}~- ; no spaces)'
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        return f'"{domain}" is not a domain name (e.g. northwind.example; IDNs in their xn-- form)'
    if len(addr) > 254:
        return "the address is longer than 254 characters"
    return None


def address_problem(value: str) -> str | None:
    """Why `value` cannot be a From / Reply-To header value, or None when it can."""
    control = _control(value)
    if control:
        return f"contains a control character ({control}); write the sender on one line"
    name, addr = _split(value)
    if not addr:
        return "no address: write `Name <address@domain>` or `address@domain`"
    if any(ch in name for ch in "<>"):
        return "the display name cannot contain < or >"
    if len(name) > MAX_NAME:
        return f"the display name is longer than {MAX_NAME} characters"
    return _addr_problem(addr)


def normalise(value: str) -> str:
    """`Name <addr>` as a header value (a name with commas etc. gets quoted); a checked value."""
    name, addr = _split(value)
    return str(Address(display_name=name, addr_spec=addr)) if name else addr


def check_fields(doc: LoadedDoc, problems: Problems, at: tuple[Any, ...] = ()) -> dict[str, str]:
    """The valid `from` / `reply_to` strings under `at` in `doc`, normalised, keyed by IR field;
    a positioned problem for each bad one (the schema has already checked they are strings)."""
    node = doc.data
    for key in at:
        node = node[key]
    found: dict[str, str] = {}
    for key, field in FIELDS.items():
        value = node.get(key) if isinstance(node, dict) else None
        if not isinstance(value, str):
            continue
        problem = address_problem(value)
        if problem:
            where = ".".join(map(str, at + (key,)))
            problems.add(doc.pos(at + (key,)), f"{where}: {value.strip()!r} is not a valid sender: {problem}")
        else:
            found[field] = normalise(value)
    return found


def journey_sender(path: Path, doc: LoadedDoc, problems: Problems) -> tuple[str | None, str | None]:
    """(sender, reply_to) for a journey: each its own value, else the one in the sending.yaml of
    its folder, else None. A broken sending.yaml is reported once here, at the journey's top,
    only when the journey needs one of its defaults."""
    own = check_fields(doc, problems)
    absent = [field for key, field in FIELDS.items() if key not in doc.data]
    if absent:
        defaults = folder_defaults(path.parent, problems)
        own.update({field: defaults[field] for field in absent if field in defaults})
    return own.get("sender"), own.get("reply_to")


def folder_defaults(folder: Path, problems: Problems) -> dict[str, str]:
    """The sender defaults of `folder/sending.yaml` ({} without the file)."""
    from compiler.sending_model import FILE_NAME, rules_if_present

    rules, broken = rules_if_present(folder / FILE_NAME)
    if broken:
        problems.add((1, 1), f"{folder / FILE_NAME} has errors, so the default sender is unknown "
                             f"(python cli.py validate {folder / FILE_NAME})")
    if rules is None:
        return {}
    return {k: v for k, v in (("sender", rules.sender), ("reply_to", rules.reply_to)) if v}
