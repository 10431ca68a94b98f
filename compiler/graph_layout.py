"""A layered drawing of a journey-sized directed graph, in pure Python (for pages that cannot run
Graphviz: the report is one self-contained HTML file).

Ranks are longest paths from the sources, with back edges (loops) reversed. Between two ranks
lies a band, and every edge passes through one slot in each band it crosses (and a thin dummy in
each rank it crosses); a labelled edge's slot is its label. Slots and boxes are ordered by
barycentre sweeps and placed without overlap, so labels never overlap boxes or each other, and a
line only ever crosses other lines. `layout()` draws top to bottom or left to right
(compiler.graph_svg.best picks the one that needs the least scaling to fit a width).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

Size = tuple[float, float]  # width, height
NODE_GAP, SLOT_GAP, THIN = 24.0, 14.0, 10.0  # space between boxes, between slots; a dummy's width
RANK_GAP, MIN_BAND, MARGIN = 18.0, 22.0, 12.0


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass(frozen=True)
class EdgeIn:
    src: str
    dst: str
    label: Size | None = None  # the size of the label's box, if the edge has one


@dataclass
class EdgeOut:
    src: str
    dst: str
    points: list[tuple[float, float]]  # from src to dst; consecutive points join by a curve or a line
    label: Box | None = None
    back: bool = False  # a loop: drawn against the flow


@dataclass
class Layout:
    width: float
    height: float
    nodes: dict[str, Box]
    edges: list[EdgeOut]
    vertical: bool = True


@dataclass(eq=False)
class _Item:
    """One thing in a layer: a node, a label or waypoint slot (band layer), or a dummy (rank layer)."""

    key: object
    size: float  # along the layer
    depth: float  # across it
    up: list[_Item] = field(default_factory=list)
    down: list[_Item] = field(default_factory=list)
    pos: float = 0.0  # centre along the layer


def _ranks(nodes: list[str], edges: list[EdgeIn]) -> tuple[dict[str, int], set[int]]:
    """Longest-path ranks over the graph with its back edges reversed; the indexes of back edges."""
    out: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for i, e in enumerate(edges):
        out[e.src].append((i, e.dst))
    back: set[int] = set()
    state: dict[str, int] = {}  # 1 on the DFS stack, 2 done
    for root in nodes:
        if root in state:
            continue
        stack = [(root, iter(out[root]))]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            for i, child in children:
                if state.get(child) == 1:
                    back.add(i)
                elif child not in state:
                    state[child] = 1
                    stack.append((child, iter(out[child])))
                    break
            else:
                state[node] = 2
                stack.pop()
    succs: dict[str, list[str]] = defaultdict(list)
    waiting = dict.fromkeys(nodes, 0)  # predecessors not ranked yet
    for i, e in enumerate(edges):
        if e.src != e.dst:
            src, dst = (e.dst, e.src) if i in back else (e.src, e.dst)
            succs[src].append(dst)
            waiting[dst] += 1
    rank = dict.fromkeys(nodes, 0)
    ready = [n for n in nodes if not waiting[n]]
    while ready:  # longest path, in topological order (back edges reversed, so there is one)
        node = ready.pop()
        for nxt in succs[node]:
            rank[nxt] = max(rank[nxt], rank[node] + 1)
            waiting[nxt] -= 1
            if not waiting[nxt]:
                ready.append(nxt)
    return rank, back


def _crossings(layers: list[list[_Item]]) -> int:
    total = 0
    for upper, lower in zip(layers, layers[1:]):
        index = {id(it): i for i, it in enumerate(upper)}
        pairs = [(index[id(it)], j) for j, low in enumerate(lower) for it in low.up if id(it) in index]
        total += sum(1 for a in range(len(pairs)) for b in range(a)
                     if (pairs[a][0] - pairs[b][0]) * (pairs[a][1] - pairs[b][1]) < 0)
    return total


def _order(layers: list[list[_Item]]) -> None:
    """Barycentre sweeps down and up; keeps the order with the fewest crossings."""
    best, best_x = [list(layer) for layer in layers], _crossings(layers)
    for sweep in range(8):
        seq = range(1, len(layers)) if sweep % 2 == 0 else range(len(layers) - 2, -1, -1)
        for li in seq:
            ref = layers[li - 1] if sweep % 2 == 0 else layers[li + 1]
            index = {id(it): i for i, it in enumerate(ref)}
            def bary(pair: tuple[int, _Item]) -> float:
                i, it = pair
                near = [index[id(n)] for n in (it.up if sweep % 2 == 0 else it.down) if id(n) in index]
                return sum(near) / len(near) if near else float(i)
            layers[li][:] = [it for _, it in sorted(enumerate(layers[li]), key=lambda p: (bary(p), p[0]))]
        crossings = _crossings(layers)
        if crossings < best_x:
            best, best_x = [list(layer) for layer in layers], crossings
    layers[:] = best


def _gap(a: _Item, b: _Item) -> float:
    return NODE_GAP if isinstance(a.key, str) and isinstance(b.key, str) else SLOT_GAP


def _weight(a: _Item, b: _Item) -> float:
    """How strongly a line pulls its two ends into line: long edges (slot to dummy) most, so
    they run straight, as in Graphviz's dot."""
    return 1.0 + 3.0 * (not isinstance(a.key, str)) + 3.0 * (not isinstance(b.key, str))


def _place(layer: list[_Item], wanted: list[float], weights: list[float]) -> None:
    """Centres as close as possible (weighted least squares) to `wanted`, in order, without
    overlap: isotonic regression (pool adjacent violators) on wanted minus the packed offsets."""
    offsets, acc = [], 0.0
    for i, it in enumerate(layer):
        if i:
            acc += layer[i - 1].size / 2 + _gap(layer[i - 1], it) + it.size / 2
        offsets.append(acc)
    blocks: list[list[float]] = []  # weighted sum, weight, count
    for w, o, k in zip(wanted, offsets, weights):
        blocks.append([(w - o) * k, k, 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, k2, c = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += k2
            blocks[-1][2] += c
    fitted = [b[0] / b[1] for b in blocks for _ in range(int(b[2]))]
    for it, f, o in zip(layer, fitted, offsets):
        it.pos = f + o


def _room(layers: list[list[_Item]], where: dict[int, tuple[int, int]], run: list[_Item]) -> tuple[float, float]:
    """The positions the whole run could take together without touching its neighbours."""
    low, high = float("-inf"), float("inf")
    for it in run:
        li, i = where[id(it)]
        layer = layers[li]
        if i:
            left = layer[i - 1]
            low = max(low, left.pos + left.size / 2 + _gap(left, it) + it.size / 2)
        if i + 1 < len(layer):
            right = layer[i + 1]
            high = min(high, right.pos - right.size / 2 - _gap(it, right) - it.size / 2)
    return low, high


def _straighten(layers: list[list[_Item]], runs: list[list[_Item]]) -> None:
    """Each run of waypoints and dummies of one edge onto one line where its neighbours leave
    room, so long edges go straight down instead of wavering around the boxes they pass; then a
    step that only leads to the next one, which only it leads to, in line with it."""
    where = {id(it): (li, i) for li, layer in enumerate(layers) for i, it in enumerate(layer)}
    for _ in range(3):
        for run in runs:
            low, high = _room(layers, where, run)
            if low <= high:
                x = min(max(sum(it.pos for it in run) / len(run), low), high)
                for it in run:
                    it.pos = x
    for layer in layers[2::2]:
        for node in layer:
            run = [node]
            while len(run[-1].up) == 1 and not isinstance(run[-1].up[0].key, str):
                run.append(run[-1].up[0])
            above = run[-1].up
            if len(above) == 1 and len(above[0].down) == 1 and len(node.down) <= 1 and isinstance(node.key, str):
                low, high = _room(layers, where, run)
                if low <= above[0].pos <= high:
                    for it in run:
                        it.pos = above[0].pos


def _coordinates(layers: list[list[_Item]], runs: list[list[_Item]]) -> None:
    """Every item towards the weighted mean of its neighbours, layer by layer, down and up;
    then long edges straightened."""
    for layer in layers:
        _place(layer, [0.0] * len(layer), [1.0] * len(layer))
    for sweep in range(16):
        seq = range(len(layers)) if sweep % 2 == 0 else range(len(layers) - 1, -1, -1)
        for li in seq:
            wanted, weights = [], []
            for it in layers[li]:
                near = [(n.pos, _weight(it, n)) for n in it.up + it.down]
                total = sum(k for _, k in near)
                wanted.append(sum(p * k for p, k in near) / total if near else it.pos)
                weights.append(total or 0.1)
            _place(layers[li], wanted, weights)
    _straighten(layers, runs)
    low = min((it.pos - it.size / 2 for layer in layers for it in layer), default=0.0)
    for layer in layers:
        for it in layer:
            it.pos += MARGIN - low


def layout(nodes: dict[str, Size], edges: list[EdgeIn], *, vertical: bool = True) -> Layout:
    """Boxes for `nodes` (sizes as drawn) and a path, and a label box, for every edge."""
    along = (lambda s: s[0]) if vertical else (lambda s: s[1])  # noqa: E731
    across = (lambda s: s[1]) if vertical else (lambda s: s[0])  # noqa: E731
    rank, back = _ranks(list(nodes), edges)
    top = max(rank.values(), default=0)
    layers: list[list[_Item]] = [[] for _ in range(2 * top + 1)]  # rank r at 2r, the band below it at 2r+1
    loops = _self_loops(nodes, edges, along, across)
    items = {n: _Item(n, along(nodes[n]) + loops.get(n, (0.0, 0.0))[0], max(across(nodes[n]), loops.get(n, (0.0, 0.0))[1]))
             for n in nodes}
    for n in sorted(nodes, key=lambda n: rank[n]):
        layers[2 * rank[n]].append(items[n])
    chains: list[list[tuple[int, _Item]]] = []  # per edge: (layer, item) from its upper end down
    labels: dict[int, _Item] = {}
    for i, e in enumerate(edges):
        if e.src == e.dst:  # drawn beside its step (see _self_loops)
            chains.append([])
            continue
        u, v = (e.dst, e.src) if i in back else (e.src, e.dst)
        ru, rv = rank[u], rank[v]
        label_layer = 2 * rv - 1 if i in back else 2 * ru + 1
        chain = [(2 * ru, items[u])]
        for li in range(2 * ru + 1, 2 * rv):
            if e.label and li == label_layer:
                slot = labels[i] = _Item((i, li), along(e.label), across(e.label))
            else:
                slot = _Item((i, li), THIN, 0.0)
            layers[li].append(slot)
            chain.append((li, slot))
        chain.append((2 * rv, items[v]))
        for (_, a), (_, b) in zip(chain, chain[1:]):
            a.down.append(b)
            b.up.append(a)
        chains.append(chain)
    _order(layers)
    runs: list[list[_Item]] = []  # the waypoints and dummies of each edge, between its label and its ends
    for i, chain in enumerate(chains):
        run: list[_Item] = []
        for _, it in chain[1:-1] + [(0, None)]:
            if it is None or it is labels.get(i):
                runs += [run] if len(run) > 1 else []
                run = []
            else:
                run.append(it)
    _coordinates(layers, runs)
    depths = [max([it.depth for it in layer], default=0.0) if li % 2 == 0
              else max([it.depth for it in layer] + [MIN_BAND]) + 2 * RANK_GAP for li, layer in enumerate(layers)]
    starts, acc = [], MARGIN  # where each layer starts across the flow
    for d in depths:
        starts.append(acc)
        acc += d
    size_along = max((it.pos + it.size / 2 for layer in layers for it in layer), default=0.0) + MARGIN

    def point(a: float, c: float) -> tuple[float, float]:
        return (a, c) if vertical else (c, a)

    def box(it: _Item, li: int) -> Box:
        """Boxes sit at the top of their rank (a self-loop's room after them); labels in the middle of their band."""
        a_size, c_size = (along(nodes[it.key]), across(nodes[it.key])) if isinstance(it.key, str) else (it.size, it.depth)
        c0 = starts[li] + (0.0 if li % 2 == 0 else (depths[li] - c_size) / 2)
        x, y = point(it.pos - it.size / 2, c0)
        return Box(x, y, a_size, c_size) if vertical else Box(x, y, c_size, a_size)

    def centre(it: _Item) -> float:
        return it.pos - it.size / 2 + along(nodes[it.key]) / 2 if isinstance(it.key, str) else it.pos

    def span(li: int, it: _Item) -> tuple[float, float, float]:
        """Where a line leaves this layer, and where it enters and leaves the item: lines run
        straight through labels, dummies and boxes' ranks and curve only in bands' margins."""
        c0, c1 = starts[li], starts[li] + depths[li]
        if li % 2:
            return c1 - RANK_GAP, c0 + RANK_GAP, c1 - RANK_GAP
        return c1, c0, (c0 + across(nodes[it.key]) if isinstance(it.key, str) else c1)

    out = []
    for i, (e, chain) in enumerate(zip(edges, chains)):
        pts: list[tuple[float, float]] = []
        for k, (li, it) in enumerate(chain):
            leave, top_, bottom = span(li, it)
            if k:  # entering from above
                pts.append(point(centre(it), top_))
            if k < len(chain) - 1:  # leaving downwards
                pts += [point(centre(it), bottom)] + ([point(centre(it), leave)] if leave != bottom else [])
        if e.src == e.dst:
            b = box(items[e.src], 2 * rank[e.src])
            pts, label = _loop(b, vertical, loops[e.src], e, i, edges)
            out.append(EdgeOut(e.src, e.dst, pts, label, back=True))
            continue
        if i in back:
            pts.reverse()
        label = box(labels[i], next(li for li, it in chain if it is labels[i])) if i in labels else None
        out.append(EdgeOut(e.src, e.dst, _dedupe(pts), label, back=i in back))
    w, h = point(size_along, acc + MARGIN)
    return Layout(w, h, {n: box(items[n], 2 * rank[n]) for n in nodes}, out, vertical)


LOOP = 18.0  # how far a self-loop goes out of its box


def _self_loops(nodes: dict[str, Size], edges: list[EdgeIn], along, across) -> dict[str, tuple[float, float]]:  # noqa: ANN001
    """Room after a step for the edges that lead back to it: a loop out of its far side and their
    labels stacked beside it (along the layer: loop + widest label; across: the labels' total)."""
    out: dict[str, tuple[float, float]] = {}
    for e in edges:
        if e.src == e.dst:
            a, c = out.get(e.src, (LOOP + 4.0, 0.0))
            out[e.src] = (max(a, LOOP + 4.0 + (along(e.label) if e.label else 0.0)),
                          c + (across(e.label) + 4.0 if e.label else 0.0))
    return out


def _loop(b: Box, vertical: bool, room: tuple[float, float], e: EdgeIn, i: int,
          edges: list[EdgeIn]) -> tuple[list[tuple[float, float]], Box | None]:
    """A self-loop's path (out of the box's far side and back) and its label in the room after the box."""
    a_end, c0, c_size = (b.x + b.w, b.y, b.h) if vertical else (b.y + b.h, b.x, b.w)

    def point(a: float, c: float) -> tuple[float, float]:
        return (a, c) if vertical else (c, a)

    out_c, back_c = c0 + c_size / 3, c0 + 2 * c_size / 3
    pts = [point(a_end, out_c), point(a_end + LOOP, out_c), point(a_end + LOOP, back_c), point(a_end, back_c)]
    if not e.label:
        return pts, None
    offset = sum(((o.label[1] if vertical else o.label[0]) + 4.0) for o in edges[:i] if o.src == o.dst == e.src and o.label)
    w, h = e.label if vertical else (e.label[1], e.label[0])  # along, across
    x, y = point(a_end + LOOP + 4.0, c0 + offset)
    return pts, (Box(x, y, w, h) if vertical else Box(x, y, h, w))


def _dedupe(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    return [p for k, p in enumerate(points) if k == 0 or p != points[k - 1]]


def svg_path(points: list[tuple[float, float]], vertical: bool) -> str:
    """An SVG path through the points: S-curves along the flow between them, so a line leaves
    and enters every box and label straight."""
    (x0, y0), d = points[0], [f"M{points[0][0]:.1f},{points[0][1]:.1f}"]
    for x1, y1 in points[1:]:
        if vertical:
            m = (y0 + y1) / 2
            d.append(f"C{x0:.1f},{m:.1f} {x1:.1f},{m:.1f} {x1:.1f},{y1:.1f}")
        else:
            m = (x0 + x1) / 2
            d.append(f"C{m:.1f},{y0:.1f} {m:.1f},{y1:.1f} {x1:.1f},{y1:.1f}")
        x0, y0 = x1, y1
    return "".join(d)

