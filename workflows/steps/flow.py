"""Steps that choose the way: branch, split, exit."""

from __future__ import annotations

import hashlib

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c
    from compiler.conditions import evaluate
    from compiler.ir import Branch, Exit, Split
    from workflows.run import ExitRun, Run


async def branch(run: Run, step: Branch) -> str | None:
    profile = await run.fresh_profile()
    for index, case in enumerate(step.cases):
        if evaluate(case.when, profile):
            run.note(step, "case", case=index + 1, next=case.next or "end")
            return case.next
    run.note(step, "default", next=step.default or "end")
    return step.default


def bucket(key: str) -> int:
    """0..99, the same for the same run and step visit: deterministic, evenly spread."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % 100


async def split(run: Run, step: Split) -> str | None:
    ref = run.ref(step)
    point = bucket(ref.key)
    edge = 0
    chosen = None
    for variant in step.variants:
        edge += variant.percent
        if point < edge:
            chosen = variant
            break
    name = chosen.name if chosen else "holdout"
    await run.local(c.RECORD_OUTCOME, c.OutcomeInput(ref=ref, outcome="split", detail={"variant": name}), type(None), f"split {step.id}: {name}")
    run.note(step, "variant", variant=name)
    if chosen is None:  # the holdout gets no treatment: it goes to the split's `next` (end by default)
        if step.next is None:
            raise ExitRun("holdout")
        return step.next
    return chosen.next


async def exit_step(run: Run, step: Exit) -> str | None:
    run.note(step, "exit", reason=step.reason)
    raise ExitRun(step.reason)
