"""The `set` step: update the contact's profile (exactly once per visit)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c
    from compiler.ir import SetProfile
    from workflows.run import Run


async def set_profile(run: Run, step: SetProfile) -> str | None:
    inp = c.UpdateInput(
        ref=run.ref(step),
        stage=step.stage,
        score_add=step.score_add,
        score_set=step.score_set,
        tags_add=list(step.tags_add),
        tags_remove=list(step.tags_remove),
        attributes=dict(step.attributes),
    )
    profile = await run.effect(c.UPDATE_PROFILE, inp, dict, f"set {step.id}")
    run.set_profile(profile)
    run.note(step, "updated")
    return step.next
