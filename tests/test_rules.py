"""Automation rules through the real events path (engine.events.publish with a Temporal
client), on SQLite and PostgreSQL: every trigger and every action, notify into the real SMTP
sink, webhook to a local HTTP server, enrol starting a real run on a worker over this store."""

from __future__ import annotations

import ast
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from activities.deps import Deps, SmtpConfig
from compiler import ir
from engine import events
from engine.events import publish
from engine.simulation import Simulation
from compiler.config_file import ConfigError
from marketing.rules import install, load_rules, validate_rules_file
from marketing.segments import load_segments, sweep_and_publish
from tests.journey_builder import journey
from tracking.tokens import DEV_KEY, TokenSigner
from worker import create_worker

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
async def sim():
    async with Simulation() as s:
        yield s


@pytest.fixture
def hooks():
    """Only the rules hook installed by the test; whatever was installed before comes back after."""
    getattr(events, "ensure_hooks", lambda: None)()
    saved = list(events.EVENT_HOOKS)
    events.EVENT_HOOKS.clear()
    yield
    events.EVENT_HOOKS[:] = saved


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A journeys folder with the real templates, a `test-journey` and a segments file."""
    (tmp_path / "templates").symlink_to(REPO / "journeys" / "templates")
    (tmp_path / "test-journey.yaml").write_text("# stands for the journey built in the test\n")
    (tmp_path / "segments.yaml").write_text(
        "segments:\n  - id: trial-users\n    where: {attribute: plan, equals: trial}\n")
    return tmp_path


def rules_in(folder: Path, body: str):
    path = folder / "rules.yaml"
    path.write_text("rules:\n" + body, encoding="utf-8")
    return load_rules(path)


def deps_for(store, sim) -> Deps:
    return Deps(store=store, signer=TokenSigner([DEV_KEY]), smtp=SmtpConfig(port=sim.smtp.port),
                teams={"sales": ["sales@nurture.local", "lead@nurture.local"]})


def fired(store, cid) -> list[str]:
    return [e.data["rule"] for e in store.events_for(cid, type="rule.fired")]


async def test_event_rule_with_data_test_tags_contact(store, sim, folder, hooks):
    install(rules_in(folder, """
  - id: visited-pricing
    when: {event: page.visited}
    where: [{field: url, contains: /pricing}]
    then: [{tag: {add: [pricing-interest], remove: [cold]}}]
"""))
    cid = store.create_contact(email="ana@example.com", tags=["cold"])
    out = await publish(sim.env.client, store, cid, "page.visited", data={"url": "https://x.com/blog"})
    assert store.get_contact(cid).tags == ["cold"] and out.changed == []
    out = await publish(sim.env.client, store, cid, "page.visited", data={"url": "https://x.com/Pricing"})
    assert store.get_contact(cid).tags == ["pricing-interest"]
    assert out.changed == ["tags"] and fired(store, cid) == ["visited-pricing"]
    [record] = store.events_for(cid, type="rule.fired")
    assert record.data["event"] == out.event_id  # the rule's record names the event that fired it


async def test_profile_condition_stage_and_points(store, sim, folder, hooks):
    install(rules_in(folder, """
  - id: purchase
    when: {event: purchase.completed}
    if: 'stage != "customer"'
    then:
      - stage: customer
      - score: {add: 25}
      - score: {add: 5, level: customer}
"""))
    cid = store.create_contact(email="ben@example.com", stage="lead")
    await publish(sim.env.client, store, cid, "purchase.completed", data={"order": "A1"})
    await publish(sim.env.client, store, cid, "purchase.completed", data={"order": "A2"})  # already customer
    assert store.get_contact(cid).stage == "customer"
    assert store.get_scores(cid) == {"customer": 5, "global": 25}
    assert [s.reason for s in store.stage_history(cid)][-1] == "rule purchase"
    assert fired(store, cid) == ["purchase"]


HOT_LEAD_RULES = """
  - id: demo-request
    when: {event: demo.requested}
    then: [{score: {add: 50}}]
  - id: hot-lead
    when: {score.crossed: 80}
    then:
      - notify: {to: sales, template: sales-hot-lead}
      - tag: {add: [sales-alerted]}
"""  # a demo request scores 50; crossing 80 alerts sales once


async def test_score_crossed_notifies_sales_through_smtp(store, sim, folder, hooks):
    install(rules_in(folder, HOT_LEAD_RULES), deps_for(store, sim))
    cid = store.create_contact(email="cy@example.com", first_name="Cy", attributes={"company": "Acme"})
    before = len(sim.smtp.messages)
    await publish(sim.env.client, store, cid, "demo.requested")      # 50: below
    assert len(sim.smtp.messages) == before and "hot-lead" not in fired(store, cid)
    out = await publish(sim.env.client, store, cid, "demo.requested")  # 100: crosses 80
    await publish(sim.env.client, store, cid, "demo.requested")        # 150: already above, no new alert
    assert fired(store, cid).count("hot-lead") == 1
    assert "tags" in out.changed and "sales-alerted" in store.get_contact(cid).tags
    mail = sim.smtp.wait_for(before + 1)[before:]
    assert len(mail) == 1 and "Hot lead: Cy at Acme (score 100)" == mail[0]["Subject"]
    assert mail[0]["To"] == "sales@nurture.local, lead@nurture.local"
    assert [e.data["to"] for e in store.events_for(cid, type="notify.sent")] == ["sales"]


async def test_score_crossed_at_a_stage_level_and_downward(store, sim, folder, hooks):
    install(rules_in(folder, """
  - id: engaged
    when: {event: webinar.attended}
    then: [{score: {add: 30, level: "stage:mql"}}, {score: {add: 30}}]
  - id: gone-quiet
    when: {event: unsubscribed.newsletter}
    then: [{score: {add: -45}}]
  - id: mql-ready
    when: {score.crossed: {value: 50, level: stage}}
    then: [{tag: {add: [mql-ready]}}]
  - id: cooled-down
    when: {score.crossed: {value: 20, direction: down}}
    then: [{tag: {add: [cooled]}}]
"""))
    cid = store.create_contact(email="di@example.com")
    await publish(sim.env.client, store, cid, "webinar.attended")  # stage:mql 30, global 30
    assert fired(store, cid) == ["engaged"]
    await publish(sim.env.client, store, cid, "webinar.attended")  # stage:mql 60 crosses 50 (global 60: no rule)
    assert fired(store, cid).count("mql-ready") == 1 and "mql-ready" in store.get_contact(cid).tags
    await publish(sim.env.client, store, cid, "unsubscribed.newsletter")  # global 60 -> 15: falls below 20
    await publish(sim.env.client, store, cid, "unsubscribed.newsletter")  # 15 -> -30: already below, no new firing
    assert fired(store, cid).count("cooled-down") == 1 and "cooled" in store.get_contact(cid).tags
    assert fired(store, cid).count("mql-ready") == 1  # the stage level did not move again


async def test_segment_entered_enrols_in_journey_on_a_real_worker(store, sim, folder, hooks):
    install(rules_in(folder, """
  - id: trial-welcome
    when: {segment.entered: trial-users}
    then: [{enrol: test-journey}]
"""))
    j = journey(ir.Exit(id="bye", reason="done"))
    store.save_journey_version(j.id, j.version, j.to_dict())
    store.set_journey_state(j.id, active_version=j.version)
    queue = f"rules-{store.dialect}"
    cid = store.create_contact(email="dee@example.com", attributes={"plan": "trial"})
    other = store.create_contact(email="eve@example.com", attributes={"plan": "team"})
    segments = load_segments(folder / "segments.yaml")
    async with create_worker(sim.env.client, deps_for(store, sim), task_queue=queue):
        added, _ = await sweep_and_publish(sim.env.client, store, "trial-users", segments=segments, task_queue=queue)
        assert added == [cid]
        enrolment = store.last_enrolment(j.id, cid)
        assert enrolment is not None and store.last_enrolment(j.id, other) is None
        result = await sim.env.client.get_workflow_handle(enrolment.workflow_id).result()
    assert (result["outcome"], result["reason"]) == ("exited", "done")
    assert [e.data["segment"] for e in store.events_for(cid, type="segment.entered")] == ["trial-users"]


async def test_enrol_of_an_undeployed_journey_is_recorded_not_raised(store, sim, folder, hooks):
    install(rules_in(folder, """
  - id: signup
    when: {event: contact.subscribed}
    then: [{enrol: test-journey}, {tag: {add: [subscribed]}}]
"""))
    cid = store.create_contact(email="fay@example.com")
    await publish(sim.env.client, store, cid, "contact.subscribed")
    assert store.get_contact(cid).tags == ["subscribed"]
    failed = store.events_for(cid, type="rule.failed")
    assert [(e.data["action"], e.data["reason"]) for e in failed] == [("enrol", "journey_not_deployed")]


class _Hook(BaseHTTPRequestHandler):
    received: list[tuple[str, str, dict]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"] or 0)).decode()
        self.received.append((self.path, self.headers["Idempotency-Key"], json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook_server():
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


async def test_webhook_action_calls_the_endpoint(store, sim, folder, hooks, webhook_server):
    install(rules_in(folder, f"""
  - id: crm-sync
    when: {{event: form.submitted}}
    then:
      - webhook: {{url: "{webhook_server}/crm", body: '{{"contact": {{{{ contact.id }}}}, "stage": "{{{{ stage }}}}"}}'}}
"""), deps_for(store, sim))
    cid = store.create_contact(email="gil@example.com", stage="lead")
    await publish(sim.env.client, store, cid, "form.submitted")
    assert store.events_for(cid, type="rule.failed") == []
    assert [(p, body) for p, _key, body in _Hook.received] == [("/crm", {"contact": cid, "stage": "lead"})]
    assert len(_Hook.received[0][1]) == 32


async def test_rule_events_never_trigger_rules(store, sim, folder, hooks):
    install(rules_in(folder, """
  - id: loop
    when: {event: rule.fired}
    then: [{score: {add: 1}}]
"""))
    cid = store.create_contact(email="hal@example.com")
    await publish(sim.env.client, store, cid, "rule.fired", data={"rule": "x"})
    assert store.get_scores(cid) == {}


@pytest.mark.parametrize("body, message", [
    ("  - id: a\n    when: {event: x}\n    then: [{enrol: no-such-journey}]\n", 'no journey "no-such-journey"'),
    ("  - id: a\n    when: {event: x}\n    then: [{notify: {to: sales, template: nope}}]\n", 'template "nope" is missing'),
    ("  - id: a\n    when: {segment.entered: nope}\n    then: [{stage: x}]\n", 'segment.entered: unknown segment "nope"'),
    ("  - id: a\n    when: {event: x}\n    if: 'scor > 3'\n    then: [{stage: x}]\n", "scor"),
    ("  - id: a\n    when: {score.crossed: 5}\n    where: [{field: u, equals: 1}]\n    then: [{stage: x}]\n", "no event data"),
    ("  - id: a\n    when: {event: x, score.crossed: 5}\n    then: [{stage: x}]\n", "rules[0].when"),
    ("  - id: a\n    when: {score.crossed: {value: 5, direction: sideways}}\n    then: [{stage: x}]\n", "sideways"),
    ("  - id: a\n    when: {score.crossed: {level: global}}\n    then: [{stage: x}]\n", 'missing key "value"'),
])
def test_bad_rules_give_positioned_errors(folder, body, message):
    path = folder / "rules.yaml"
    path.write_text("rules:\n" + body, encoding="utf-8")
    errors = validate_rules_file(path)
    assert errors and message in str(errors[0]), errors
    assert str(errors[0]).startswith(f"{path}:")
    with pytest.raises(ConfigError):
        load_rules(path)


def test_shipped_rules_validate():
    assert validate_rules_file(REPO / "journeys" / "rules.yaml") == []


# the rules modules import one way: rules -> rules_actions -> rules_effects, each -> rules_model
_RULES_LAYERS = ["marketing.rules", "marketing.rules_actions", "marketing.rules_effects", "marketing.rules_model"]


def _imported_modules(module: str) -> set[str]:
    """Every module a file names in an import statement, at top level or inside a function."""
    tree = ast.parse((REPO / (module.replace(".", "/") + ".py")).read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
    return names


@pytest.mark.parametrize("i", range(len(_RULES_LAYERS)))
def test_rules_modules_import_in_one_direction(i):
    upward = set(_RULES_LAYERS[: i + 1]) & _imported_modules(_RULES_LAYERS[i])
    assert upward == set(), f"{_RULES_LAYERS[i]} imports {sorted(upward)}, a module above it"
