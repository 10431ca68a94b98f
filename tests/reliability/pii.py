"""Find personal data in Temporal histories, payloads decoded (their `data` is base64 JSON,
so a plain text search of the history would miss anything inside inputs and results)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from typing import Any

from temporalio.client import Client

EMAIL = re.compile(r"[\w.+-]+@(?!nurture\.local\b)[\w-]+(?:\.[\w-]+)+")  # Message-IDs are @nurture.local
PHONE = re.compile(r"\+?\d[\d \-]{8,16}\d")


def _strings(node: Any) -> list[str]:
    """Every string in the history, with payload `data` decoded from base64."""
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    if isinstance(node, str):
        try:
            return [node, base64.b64decode(node, validate=True).decode("utf-8")]
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return [node]
    return []


def personal_data(history_json: str, names: tuple[str, ...] = (), phones: tuple[str, ...] = (),
                  allowed: tuple[str, ...] = ()) -> list[str]:
    """Email addresses (but the `allowed` ones, e.g. a team address written in the journey),
    the given phone numbers (any formatting) and names found in a history."""
    found: list[str] = []
    for text in _strings(json.loads(history_json)):
        found += [a for a in EMAIL.findall(text) if a.lower() not in allowed]
        digits = {re.sub(r"\D", "", p) for p in PHONE.findall(text)}
        found += [p for p in phones if re.sub(r"\D", "", p)[-9:] in {d[-9:] for d in digits if len(d) >= 9}]
        lower = text.lower()
        found += [n for n in names if n.lower() in lower]
    return sorted(set(found))


async def scan_server(client: Client, names: tuple[str, ...], phones: tuple[str, ...],
                      workflow_ids: Iterable[str] = ()) -> tuple[int, list[str]]:
    """(histories scanned, problems) over every workflow the server lists and every one of
    `workflow_ids`: the list comes from the visibility store, which is eventually consistent (a
    run it has not indexed yet is missing from it); a history read by id is not."""
    runs: dict[tuple[str, str | None], None] = {}
    async for wf in client.list_workflows():
        runs[(wf.id, wf.run_id)] = None
    listed = {workflow_id for workflow_id, _ in runs}
    runs.update(((w, None), None) for w in sorted(set(workflow_ids) - listed))
    scanned, problems = 0, []
    for workflow_id, run_id in runs:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        found = personal_data(history.to_json(), names, phones)
        scanned += 1
        if found:
            problems.append(f"{workflow_id}: {found[:5]}")
    return scanned, problems
