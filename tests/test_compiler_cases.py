"""Every compiler rule has a bad file in tests/compiler_cases/: the exact errors, at the exact
line and column, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.compile import compile_file

CASES = Path(__file__).parent / "compiler_cases"

# case -> [(file, line, col, a piece of the message)]; file "" is the case itself
EXPECTED: dict[str, list[tuple[str, int, int, str]]] = {
    # loader: strict YAML
    "duplicate-key": [("", 9, 5, 'duplicate key "template" (first at line 8)')],
    "anchor-alias": [("", 6, 5, "anchors (&first) are not allowed"), ("", 10, 5, "aliases (*first) are not allowed")],
    "yaml11-on-key": [("", 9, 5, 'key on is a boolean in YAML; quote it if you mean the text: "on"')],
    "yaml11-no-value": [("", 2, 40, 'no is a boolean in YAML 1.1; write true/false, or quote it: "no"')],
    "sexagesimal": [("", 5, 23, '21:00 is a base-60 number in YAML 1.1; quote it: "21:00"')],
    "octal": [("", 11, 18, "020 is an octal number in YAML 1.1")],
    "yaml-tag": [("", 9, 14, "tags (tag:yaml.org,2002:str) are not allowed")],
    "two-documents": [("", 9, 1, "one journey per file")],
    "syntax-error": [("", 10, 1, "YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence at line 9, column 9)")],
    # schema
    "unknown-key": [("", 2, 1, 'unknown key "titel" (did you mean "title"?)')],
    "unknown-step-key": [
        ("", 6, 5, 'step "welcome": missing key "template"'),
        ("", 8, 5, 'unknown key "tempalte" in step "welcome" (send_email) (did you mean "template"?)'),
    ],
    "unknown-step-type": [("", 10, 11, 'step "nudge": type "sned_sms" is invalid (did you mean "send_sms"?): a step type is one of')],
    "missing-key": [("", 9, 5, 'step "tell-sales": missing key "to"')],
    "bad-duration": [("", 11, 15, 'step "pause": duration "3mo" is invalid: a duration is like 30m, 12h, 3d, 1w2d or P3DT4H')],
    "bad-clock": [("", 12, 33, 'step "pause": window.from "9am" is invalid: a clock time is a quoted "HH:MM"')],
    "bad-id": [("", 9, 9, 'id "Pause" is invalid: an id is lowercase letters')],
    # a mapping-level rule points at the key that breaks it; a missing key at the mapping
    "entry-two-kinds": [("", 2, 31, 'entry: needs exactly one of event, segment or manual; "segment" cannot go with "event"')],
    "entry-key-without-event": [("", 4, 3, 'entry: "key" needs "event" too')],
    "wait-two-modes": [("", 12, 5, '"duration" cannot go with "until"')],
    "wait-no-mode": [("", 9, 5, 'step "pause": a wait has one of duration or until')],
    "window-from-without-to": [("", 12, 27, 'step "pause": window: "from" needs "to" too')],
    "set-score-two-ops": [("", 11, 22, 'step "bump": score: use {add: <n>} or {set: <n>}')],
    "wrong-type": [("", 2, 8, "title must be text, not a list")],
    "objective-range": [("", 5, 26, "objectives.click_rate must be at most 1, not 1.5")],
    "until-misspelt": [("", 11, 36, 'unknown key "offest" in step "before": until (did you mean "offset"?)')],
    # graph and content
    "duplicate-id": [("", 9, 9, 'duplicate step id "welcome" (first at line 6)')],
    "reserved-end": [("", 9, 9, '"end" is reserved')],
    "unknown-target": [("", 9, 11, 'unknown step "goodbye" (did you mean "good-bye"?)')],
    "unreachable": [("", 10, 9, 'step "orphan" is never reached: no path from "welcome" leads to it')],
    "loop-without-wait": [("", 6, 9, "steps welcome, again form a loop without a wait or wait_for")],
    "branch-no-default": [("", 9, 5, 'step "check": missing key "default"')],
    "split-sum": [("", 9, 7, 'step "ab": variant percents (45 + 45) plus holdout (5) make 95, not 100')],
    "wait-for-of": [
        ("", 16, 17, 'unknown event "email.clickd" (did you mean "email.clicked"?)'),
        ("", 17, 35, '"of: pause" names a wait step; it must name a send_email or send_sms step'),
    ],
    "event-channel": [("", 13, 17, 'email.opened cannot come from "nudge", which sends sms')],
    "condition-error": [
        ("", 5, 8, 'unknown name "scroe" (did you mean "score"?)'),
        ("", 13, 35, "a function call is not allowed in a condition"),
    ],
    "condition-multiline": [  # mistakes inside | and > blocks on their own line; columns in characters, not bytes
        ("", 11, 12, 'unknown name "stag" (did you mean "stage"?)'),
        ("", 15, 11, 'unknown name "tempreature" (did you mean "temperature"?)'),
        ("", 17, 48, 'unknown name "stagé" (did you mean "stage"?)'),
        ("", 20, 11, "condition syntax error: '(' was never closed"),
    ],
    "consent-missing": [
        ("", 10, 11, 'step "nudge" uses sms but policy.consent declares no purpose for sms'),
        ("", 13, 11, 'step "crm" uses webhook but policy.consent declares no purpose for webhook'),
    ],
    "name-mismatch": [("", 1, 10, 'journey "other-name" must equal the file name "name-mismatch"')],
    "timezone": [("", 5, 13, 'unknown time zone "Europe/Madird" (did you mean "Europe/Madrid"?)')],
    "template-missing": [("", 8, 15, 'template "welcom" is missing welcom.subject.txt, welcom.html, welcom.txt')],
    "template-locale-incomplete": [("", 8, 15, 'locale variant "partial.es" is incomplete: missing partial.es.subject.txt, partial.es.txt')],
    "template-variable": [("templates/badvar.txt", 2, 37, 'unknown template variable "frist_name"')],
    "template-syntax": [("templates/badsyntax.html", 2, 1, "template syntax error: Unexpected end of template")],
    "template-injection": [("templates/injection.txt", 2, 12, 'attribute "__class__" is not allowed in a template')],
    # shared parts (`_layout.html`): literal "_" names only, found, checked like templates, email only
    "template-part-name": [
        ("templates/partname.html", 1, 4, '"layout.html" is not a shared part: extends, include and import take a literal file name starting with "_"'),
        ("templates/partname.html", 2, 23, "a computed name is not a shared part"),
    ],
    "template-part-missing": [
        ("templates/_layout.txt", 3, 4, 'shared part "_gone.txt" not found in'),
        ("templates/partmissing.html", 1, 4, 'shared part "_layot.html" not found in'),
    ],
    "template-part-injection": [
        ("templates/_evil.html", 1, 10, 'attribute "__class__" is not allowed in a template'),
        ("templates/_evil.html", 2, 4, 'unknown template variable "frist_name"'),
    ],
    "template-part-elsewhere": [
        ("", 12, 41, "an inline template cannot use shared parts"),
        ("templates/partsms.sms.txt", 1, 7, "an SMS template stands alone: it cannot use shared parts"),
    ],
    "webhook-body": [
        ("", 12, 56, 'attribute "_secret" is not allowed in a template'),
        ("", 12, 78, 'unknown template variable "secrets" (did you mean "scores"?)'),
    ],
    "template-filter": [  # Jinja2 parses unknown filters and tests; they would fail only at render
        ("", 10, 35, 'unknown template filter "t0ojson" (did you mean "tojson"?)'),
        ("", 11, 36, 'unknown template test "nmber" (did you mean "number"?)'),
    ],
}


def test_every_case_file_has_expectations() -> None:
    assert sorted(p.stem for p in CASES.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_case(case: str) -> None:
    path = CASES / f"{case}.yaml"
    result = compile_file(path)
    assert result.journey is None
    got = [(d.path, d.line, d.col, d.message) for d in result.errors]
    assert len(got) == len(EXPECTED[case]), "\n".join(map(str, result.errors))
    for (file, line, col, piece), (gpath, gline, gcol, gmessage) in zip(EXPECTED[case], got):
        assert gpath == str(CASES / file if file else path)
        assert (gline, gcol) == (line, col), gmessage
        assert piece in gmessage
