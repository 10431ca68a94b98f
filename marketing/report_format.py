"""The journey report as a text table; `to_html` gives the self-contained HTML page
(marketing.report_html)."""

from __future__ import annotations

from typing import Any

from compiler import ir
from marketing.report_cells import STEP_COLUMNS, cell, pct
from marketing.report_html import page


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def to_table(report: dict[str, Any]) -> str:
    t = report["totals"]
    out = [f"{report['journey']} ({report['title']})" + (f" since {report['since']}" if report["since"] else ""),
           f"entered {t['entered']}  converted {t['converted']} ({pct(t['conversion_rate'])})  completed {t['completed']}"
           + "".join(f"  exited:{k} {v}" for k, v in report["exits"].items())]
    sends = [s for s in report["steps"] if "sent" in s]
    if sends:
        rows = [[s["id"]] + [cell(k, s[k]) for k in STEP_COLUMNS] for s in sends]
        rows.append(["total"] + [cell(k, t[k] if k in t else sum(s[k] for s in sends)) for k in STEP_COLUMNS])
        out += ["", _table(["step", *STEP_COLUMNS], rows)]
        reasons = [f"{s['id']}: " + ", ".join(f"{k} {v}" for k, v in s["skipped_reasons"].items())
                   for s in sends if s["skipped_reasons"]]
        out += ["skipped: " + "; ".join(reasons)] if reasons else []
    if report["variants"]:
        keys = ("entered", "converted", "conversion_rate", "sent", "opened", "clicked", "open_rate", "click_rate")
        out += ["", _table(["variant", *keys], [[v["variant"]] + [cell(k, v[k]) for k in keys] for v in report["variants"]])]
    for o in report["objectives"]:
        out.append(f"objective {o['name']} >= {pct(o['target'])}: {pct(o['actual'])} {o['status'].upper()}")
    return "\n".join(out)


def to_html(pairs: list[tuple[ir.Journey, dict[str, Any]]]) -> str:
    """The one-file HTML page (marketing.report_html)."""
    return page(pairs)
