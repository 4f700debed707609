"""A picture of the migration graph: apps, dependencies across apps, conflicts and merges.

:func:`migration_graph` reads the project's migrations (and, optionally, which
ones the database records as applied) into a :class:`MigrationGraphPicture`,
which renders itself without any external program:

* as SVG (:meth:`MigrationGraphPicture.svg`), laid out deterministically, so
  the same graph always gives the same bytes (notebook outputs can be
  compared strictly; the picture shows on code hosts);
* as text (:meth:`MigrationGraphPicture.text`), one line per migration with its
  parents and marks;
* as JSON (:meth:`MigrationGraphPicture.to_json`), to carry it out of a
  ``manage.py`` process (:meth:`MigrationGraphPicture.from_json`).

In Jupyter, a picture shows as SVG (``_repr_svg_``) with the text as fallback.
The ``migration_graph`` management command prints any of the three.

Layout: one column per app (apps outside the selection that a selected
migration depends on are drawn greyed, on the left), one row per depth (the
longest chain of dependencies above a migration), so time flows downwards.
Two migrations of one app at the same depth (two branches) sit side by side.
Arrows go from a dependency to the migration that needs it; arrows across
apps are dashed. Conflicting leaves have a thick red border, merge
migrations (two or more parents in their app) a purple fill, applied ones a
green fill.

Only Django is imported: copy this module into any project.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from html import escape

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.loader import MigrationLoader

__all__ = ["GraphNode", "MigrationGraphPicture", "migration_graph"]

Key = tuple[str, str]

CHAR_W = 7  # px per character of the 12 px monospace font
NODE_H = 26
ROW_H = 56
LANE_GAP = 14
COL_GAP = 36
MARGIN = 16
HEADER_H = 30
LEGEND_H = 40
MAX_LABEL = 30


@dataclass(frozen=True)
class GraphNode:
    """One migration in the picture."""

    app_label: str
    name: str
    parents: tuple[Key, ...] = ()
    applied: bool | None = None  # None: unknown (no database read)
    external: bool = False  # drawn because a selected migration depends on it
    conflict: bool = False  # a leaf of an app that has several leaves
    merge: bool = False  # two or more parents in its own app
    replaces: tuple[Key, ...] = ()  # a squashed migration: the migrations it replaces

    @property
    def key(self) -> Key:
        """``(app_label, name)``."""
        return (self.app_label, self.name)


@dataclass
class MigrationGraphPicture:
    """Migrations and their dependencies, ready to be drawn as SVG or text."""

    apps: list[str]
    nodes: list[GraphNode] = field(default_factory=list)

    # -- serialization

    def to_json(self) -> str:
        """The picture's data as JSON (see :meth:`from_json`)."""
        return json.dumps({"apps": self.apps, "nodes": [asdict(n) for n in self.nodes]}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> MigrationGraphPicture:
        """Rebuild a picture from :meth:`to_json`'s output (e.g. a command's stdout)."""
        data = json.loads(text)
        nodes = [
            GraphNode(**{
                **n,
                "parents": tuple(tuple(p) for p in n["parents"]),
                "replaces": tuple(tuple(r) for r in n.get("replaces", ())),
            })
            for n in data["nodes"]
        ]
        return cls(list(data["apps"]), nodes)

    # -- queries

    @property
    def conflicts(self) -> dict[str, list[str]]:
        """Apps with several leaves, and those leaves."""
        found: dict[str, list[str]] = {}
        for node in self.nodes:
            if node.conflict:
                found.setdefault(node.app_label, []).append(node.name)
        return found

    @property
    def cross_app_edges(self) -> list[tuple[Key, Key]]:
        """``(dependency, migration)`` pairs whose apps differ."""
        return [(p, n.key) for n in self.nodes for p in n.parents if p[0] != n.app_label]

    # -- layout

    def _depths(self) -> dict[Key, int]:
        known = {n.key: n for n in self.nodes}
        depth: dict[Key, int] = {}

        def visit(key: Key, stack: frozenset[Key] = frozenset()) -> int:
            if key in depth:
                return depth[key]
            parents = [p for p in known[key].parents if p in known and p not in stack]
            depth[key] = 1 + max((visit(p, stack | {key}) for p in parents), default=-1)
            return depth[key]

        for key in sorted(known):
            visit(key)
        return depth

    def _columns(self) -> list[str]:
        external = sorted({n.app_label for n in self.nodes if n.external} - set(self.apps))
        return external + [a for a in self.apps if any(n.app_label == a for n in self.nodes)]

    def _layout(self) -> tuple[dict[Key, tuple[int, int]], dict[str, tuple[int, int]], int, int, int]:
        depth = self._depths()
        label_w = max([len(_label(n.name)) for n in self.nodes] + [len(a) for a in self.apps] + [8])
        node_w = label_w * CHAR_W + 16
        positions: dict[Key, tuple[int, int]] = {}
        columns: dict[str, tuple[int, int]] = {}
        x = MARGIN
        for app in self._columns():
            app_nodes = sorted(
                (n for n in self.nodes if n.app_label == app), key=lambda n: (depth[n.key], n.name)
            )
            lanes: dict[int, int] = {}
            for node in app_nodes:
                lane = lanes.get(depth[node.key], 0)
                lanes[depth[node.key]] = lane + 1
                y = MARGIN + HEADER_H + depth[node.key] * ROW_H
                positions[node.key] = (x + lane * (node_w + LANE_GAP), y)
            width = max(lanes.values(), default=1) * (node_w + LANE_GAP) - LANE_GAP
            columns[app] = (x, width)
            x += width + COL_GAP
        rows = max(depth.values(), default=0) + 1
        legend = ["applied", "merge", "conflicting leaf", "other app", "across apps"]
        if any(n.replaces for n in self.nodes):
            legend.append("squashed (dotted bracket: what it replaces)")
        legend_w = sum(34 + len(t) * CHAR_W for t in legend) + 28 + 2 * MARGIN
        total_w = max(x - COL_GAP + MARGIN + 30, legend_w)
        total_h = MARGIN + HEADER_H + rows * ROW_H - (ROW_H - NODE_H) + LEGEND_H + MARGIN
        return positions, columns, node_w, total_w, total_h

    # -- rendering

    def svg(self) -> str:
        """The picture as a standalone SVG document (same graph, same bytes)."""
        positions, columns, node_w, width, height = self._layout()
        external_apps = {n.app_label for n in self.nodes if n.external}
        out = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="monospace" font-size="12">',
            "<defs>"
            '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker>'
            "</defs>",
            f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        ]
        for app, (x, w) in columns.items():
            colour = "#999999" if app in external_apps and app not in self.apps else "#222222"
            out.append(
                f'<text x="{x + w // 2}" y="{MARGIN + 14}" text-anchor="middle" font-weight="bold" '
                f'fill="{colour}">{escape(app)}</text>'
            )
        for node in sorted(self.nodes, key=lambda n: n.key):
            cx, cy = positions[node.key]
            for parent in node.parents:
                if parent not in positions:
                    continue
                px, py = positions[parent]
                cross = parent[0] != node.app_label
                dash = ' stroke-dasharray="5,3"' if cross else ""
                colour = "#3366cc" if cross else "#555555"
                out.append(
                    f'<line x1="{px + node_w // 2}" y1="{py + NODE_H}" x2="{cx + node_w // 2}" y2="{cy}" '
                    f'stroke="{colour}" stroke-width="1.5"{dash} marker-end="url(#arrow)"/>'
                )
        for node in sorted(self.nodes, key=lambda n: n.key):
            cx, cy = positions[node.key]
            spots = sorted(positions[r] for r in node.replaces if r in positions)
            if not spots:
                continue
            dotted = 'fill="none" stroke="#d08020" stroke-width="1.5" stroke-dasharray="2,3"'
            if all(rx == spots[0][0] and rx < cx for rx, _ in spots):
                # The replaced run is the lane to the left: a bracket along its right side.
                bx = spots[0][0] + node_w + LANE_GAP // 2
                top, bottom = min(y for _, y in spots), max(y for _, y in spots) + NODE_H
                out.append(f'<path d="M {bx - 5} {top} H {bx} V {bottom} H {bx - 5}" {dotted}/>')
                out.append(f'<path d="M {bx} {cy + NODE_H // 2} H {cx}" {dotted}/>')
            else:
                for rx, ry in spots:
                    x1, y1, x2, y2 = cx + node_w, cy + NODE_H // 2, rx + node_w, ry + NODE_H // 2
                    out.append(f'<path d="M {x1} {y1} C {x1 + 30} {y1} {x2 + 30} {y2} {x2} {y2}" {dotted}/>')
        for node in sorted(self.nodes, key=lambda n: n.key):
            x, y = positions[node.key]
            fill, stroke, stroke_w, dash = "#ffffff", "#333333", "1", ""
            if node.applied:
                fill = "#dff0d8"
            if node.merge:
                fill = "#e8dcf5"
            if node.replaces:
                fill = "#fde7c8"
            if node.external:
                fill, stroke, dash = "#f2f2f2", "#999999", ' stroke-dasharray="3,2"'
            if node.conflict:
                stroke, stroke_w = "#cc0000", "3"
            out.append(
                f"<g><title>{escape(node.app_label)}.{escape(node.name)}</title>"
                f'<rect x="{x}" y="{y}" width="{node_w}" height="{NODE_H}" rx="6" fill="{fill}" '
                f'stroke="{stroke}" stroke-width="{stroke_w}"{dash}/>'
                f'<text x="{x + node_w // 2}" y="{y + 17}" text-anchor="middle" '
                f'fill="{"#777777" if node.external else "#111111"}">{escape(_label(node.name))}</text></g>'
            )
        legend_y = height - MARGIN - LEGEND_H + 18
        items = [
            ("#dff0d8", "#333333", "1", "applied"),
            ("#e8dcf5", "#333333", "1", "merge"),
            ("#ffffff", "#cc0000", "3", "conflicting leaf"),
            ("#f2f2f2", "#999999", "1", "other app"),
        ]
        if any(n.replaces for n in self.nodes):
            items.append(("#fde7c8", "#333333", "1", "squashed (dotted bracket: what it replaces)"))
        lx = MARGIN
        for fill, stroke, stroke_w, text in items:
            out.append(
                f'<rect x="{lx}" y="{legend_y}" width="14" height="14" rx="3" fill="{fill}" '
                f'stroke="{stroke}" stroke-width="{stroke_w}"/>'
                f'<text x="{lx + 20}" y="{legend_y + 11}" fill="#333333">{escape(text)}</text>'
            )
            lx += 34 + len(text) * CHAR_W
        out.append(
            f'<line x1="{lx}" y1="{legend_y + 7}" x2="{lx + 28}" y2="{legend_y + 7}" stroke="#3366cc" '
            f'stroke-width="1.5" stroke-dasharray="5,3" marker-end="url(#arrow)"/>'
            f'<text x="{lx + 34}" y="{legend_y + 11}" fill="#333333">across apps</text>'
        )
        out.append("</svg>")
        return "\n".join(out) + "\n"

    def text(self) -> str:
        """One line per migration: its parents and its marks (applied, merge, conflict)."""
        lines = [f"Migration graph of {', '.join(self.apps)}"]
        depth = self._depths()
        for app in self._columns():
            lines.append(app + (" (other app)" if app not in self.apps else ""))
            for node in sorted(
                (n for n in self.nodes if n.app_label == app), key=lambda n: (depth[n.key], n.name)
            ):
                parents = ", ".join(p[1] if p[0] == app else f"{p[0]}.{p[1]}" for p in node.parents)
                marks = [
                    m
                    for m, on in (
                        ("applied", node.applied),
                        ("merge", node.merge),
                        ("CONFLICT: one of several leaves", node.conflict),
                        ("squashed: replaces " + ", ".join(r[1] for r in node.replaces), bool(node.replaces)),
                    )
                    if on
                ]
                line = f"  {node.name}"
                if parents and not node.external:
                    line += f"  <- {parents}"
                if marks:
                    line += f"  [{'; '.join(marks)}]"
                lines.append(line)
        return "\n".join(lines)

    def save(self, path: str) -> None:
        """Write the SVG to ``path``."""
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(self.svg())

    def _repr_svg_(self) -> str:
        return self.svg()

    def __repr__(self) -> str:
        return self.text()

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:
        printer.text(self.text())  # type: ignore[attr-defined]


def _label(name: str) -> str:
    return name if len(name) <= MAX_LABEL else name[: MAX_LABEL - 1] + "…"


def migration_graph(
    apps: Sequence[str] | None = None, *, using: str | None = DEFAULT_DB_ALIAS
) -> MigrationGraphPicture:
    """Read the migration graph of ``apps`` (default: every app with migrations).

    Dependencies on migrations of other apps are drawn as greyed nodes.
    ``using`` is the database whose applied migrations are marked (``None``:
    read no database). Unknown app labels raise ``LookupError`` naming the
    apps with migrations. Nothing is written.
    """
    connection = connections[using] if using is not None else None
    # Every migration, squashed ones *and* those they replace, so that `replaces` can be drawn;
    # leaves and conflicts as Django itself sees them (with replacements applied).
    loader = MigrationLoader(connection, ignore_no_migrations=True, replace_migrations=False)
    leaves = MigrationLoader(connection, ignore_no_migrations=True).graph.leaf_nodes()
    known = sorted(loader.migrated_apps)
    selected = list(apps) if apps else known
    unknown = [a for a in selected if a not in known]
    if unknown:
        raise LookupError(
            f"No migrations for app{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}. "
            f"Apps with migrations: {', '.join(known)}."
        )
    graph = loader.graph
    conflicted = {app for app in {k[0] for k in leaves} if sum(1 for k in leaves if k[0] == app) > 1}
    chosen: list[Key] = sorted(k for k in graph.nodes if k[0] in selected)
    parents_of = {k: tuple(sorted(p.key for p in graph.node_map[k].parents)) for k in chosen}
    external: set[Key] = {p for k in chosen for p in parents_of[k] if p[0] not in selected}
    nodes = [
        GraphNode(
            key[0],
            key[1],
            parents_of[key],
            applied=(key in loader.applied_migrations) if using is not None else None,
            conflict=key in leaves and key[0] in conflicted,
            merge=sum(1 for p in parents_of[key] if p[0] == key[0]) > 1,
            replaces=tuple(tuple(r) for r in getattr(loader.disk_migrations.get(key), "replaces", ()) or ()),
        )
        for key in chosen
    ]
    nodes += [
        GraphNode(
            key[0],
            key[1],
            (),
            applied=(key in loader.applied_migrations) if using is not None else None,
            external=True,
        )
        for key in sorted(external)
    ]
    return MigrationGraphPicture(selected, nodes)


def keys(nodes: Iterable[GraphNode]) -> list[Key]:
    """The ``(app_label, name)`` keys of ``nodes``."""
    return [n.key for n in nodes]
