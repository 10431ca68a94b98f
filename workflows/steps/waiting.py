"""Steps that wait: for time (durable timers) or for the contact to do something."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c
    from compiler.ir import Wait, WaitFor
    from workflows.run import Run


def _human(seconds: int) -> str:
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


async def wait(run: Run, step: Wait) -> str | None:
    if step.duration_s is not None and step.window is None:
        until = workflow.now() + timedelta(seconds=step.duration_s)
        summary = f"wait {_human(step.duration_s)}"
    else:
        # calendar-aware waits (dates, attributes, windows in the contact's zone) are
        # planned by a local activity; its answer is recorded, so replay is stable
        w = step.window
        plan: c.PlanWaitResult = await run.local(
            c.PLAN_WAIT,
            c.PlanWaitInput(
                contact_id=run.input.contact_id,
                now=workflow.now().isoformat(),
                timezone=run.journey.policy.timezone,
                duration_s=step.duration_s,
                until=step.until,
                until_attribute=step.until_attribute,
                offset_s=step.offset_s,
                window_days=tuple(w.days) if w else None,
                window_from_min=w.from_min if w else 0,
                window_to_min=w.to_min if w else 24 * 60,
            ),
            c.PlanWaitResult,
            f"plan {step.id}",
        )
        if not plan.wake_at:
            run.note(step, "skipped", reason=plan.reason)
            return step.next
        until = datetime.fromisoformat(plan.wake_at)
        summary = f"wait until {plan.wake_at}"
    await run.wait(lambda: False, until, summary)
    run.profile_dirty = True  # time has passed: read the profile again before using it
    run.note(step, "waited")
    return step.next


async def wait_for(run: Run, step: WaitFor) -> str | None:
    since = run.event_seq
    found: list[tuple[int, str | None, str]] = []

    def ready() -> bool:
        for case in step.events:
            seq = run.match_event(case.event, case.of, since)
            if seq is not None:
                found.append((seq, case.next, case.event))
                return True
        return False

    deadline = workflow.now() + timedelta(seconds=step.timeout_s) if step.timeout_s is not None else None
    names = ", ".join(sorted({e.event for e in step.events}))
    timeout = f" ({_human(step.timeout_s)} timeout)" if step.timeout_s is not None else ""
    if await run.wait(ready, deadline, f"wait for {names}{timeout}"):
        seq, target, event = found[-1]
        run.consumed.add(seq)
        run.profile_dirty = True
        run.note(step, "event", event=event)
        return target
    run.profile_dirty = True
    run.note(step, "timeout")
    return step.on_timeout
