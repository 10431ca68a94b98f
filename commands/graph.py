"""`python cli.py graph JOURNEY [--format mermaid|dot|svg] [-o FILE]`: draw a journey (svg: the
report page's drawing, compiler.graph_svg, no Graphviz needed)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "graph",
        help="draw a journey (Mermaid, DOT or SVG)",
        description="Draw a journey: every step a node (id, type), every edge labelled with what takes it.",
    )
    p.add_argument("journey", help="a journey file, or a journey id in journeys/")
    p.add_argument("--format", choices=("mermaid", "dot", "svg"), default="mermaid")
    p.add_argument("-o", "--output", help="write to this file instead of standard output")
    p.set_defaults(func=run)


def journey_path(name: str) -> Path:
    """A path as given if it exists or looks like a file; else journeys/<name>.yaml."""
    path = Path(name)
    if path.exists() or path.suffix in (".yaml", ".yml"):
        return path
    return Path("journeys") / f"{name}.yaml"


def run(args: argparse.Namespace) -> int:
    from compiler import graph
    from compiler.compile import compile_file
    from compiler.graph_svg import draw

    path = journey_path(args.journey)
    if not path.is_file():
        print(f"{args.journey}: no such journey (looked for {path})", file=sys.stderr)
        return 1
    result = compile_file(path)
    if result.journey is None:
        print("\n".join(map(str, result.errors)), file=sys.stderr)
        return 1
    render = {"mermaid": graph.to_mermaid, "dot": graph.to_dot, "svg": lambda j: draw(j, standalone=True) + "\n"}
    text = render[args.format](result.journey)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
