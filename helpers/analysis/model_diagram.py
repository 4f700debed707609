"""A picture of models and their tables: fields, columns, and the relations between them.

:func:`model_diagram` reads models from an app registry (the project's, or the
historical one of a migration state) into a :class:`ModelDiagram`, which
renders itself without any external program:

* as SVG (:meth:`ModelDiagram.svg`), laid out deterministically: the same
  models always give the same bytes, so notebook outputs can be compared
  strictly and the picture shows on code hosts;
* as text (:meth:`ModelDiagram.text`), one block per model;
* as JSON (:meth:`ModelDiagram.to_json`), to carry it out of a ``manage.py``
  process (:meth:`ModelDiagram.from_json`).

Each model is a box headed by ``app.Model`` and its table, listing its
concrete fields with their columns. Relations are arrows from the field to the
model it points at: foreign keys solid, one-to-one dashed, parent links (multi-
table inheritance, and the *virtual* parent links of ``broken-down-models``,
which have no column) thick, many-to-many double-headed with their join table.
Apps are columns, ordered so that arrows mostly point left.

Only Django is imported: copy this module into any project.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from html import escape
from typing import Any, cast

from django.apps import apps as global_apps
from django.apps.registry import Apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models

__all__ = ["ModelBox", "ModelDiagram", "Relation", "model_diagram"]

CHAR_W = 7
LINE_H = 17
HEAD_H = 38
BOX_PAD = 8
COL_GAP = 90
ROW_GAP = 28
MARGIN = 16
LEGEND_H = 34
LEGEND = [
    ("fk", "foreign key"),
    ("o2o", "one-to-one"),
    ("parent", "parent link"),
    ("virtual-parent", "virtual parent link (no column)"),
    ("m2m", "many-to-many"),
]


@dataclass(frozen=True)
class Relation:
    """A relation from one model's field to another model."""

    source: str  # "app.Model"
    field: str
    target: str  # "app.Model"
    kind: str  # "fk", "o2o", "parent", "virtual-parent", "m2m"
    through: str | None = None  # join table of an auto-created many-to-many


@dataclass
class ModelBox:
    """One model: its label, table and columns."""

    label: str
    table: str
    columns: list[tuple[str, str]] = field(default_factory=list)  # (field, column text)
    note: str = ""

    @property
    def app(self) -> str:
        """The app label."""
        return self.label.split(".")[0]


def _is_virtual(f: models.Field) -> bool:
    """A relation without a column of its own (it reuses another field's column, e.g. ``id``)."""
    if f.column is None:
        return True
    model = getattr(f, "model", None)
    return bool(
        f.is_relation
        and model is not None
        and any(other is not f and other.column == f.column for other in model._meta.local_fields)
    )


def _field_text(f: models.Field) -> str:
    text = type(f).__name__
    if f.primary_key:
        text += ", pk"
    if f.is_relation and f.related_model is not None:
        text += f" → {f.related_model._meta.label}"
    if _is_virtual(f):
        text += f" (no column of its own: uses {f.column})" if f.column else " (no column)"
    elif f.column != f.name:
        text += f" (column {f.column})"
    return text


def _relation_kind(f: models.Field) -> str:
    if getattr(f, "remote_field", None) is not None and getattr(f.remote_field, "parent_link", False):
        return "virtual-parent" if _is_virtual(f) else "parent"
    if isinstance(f, models.OneToOneField):
        return "o2o"
    return "fk"


def model_diagram(app_labels: Iterable[str], apps: Apps | None = None) -> ModelDiagram:
    """Build the picture of the models of ``app_labels`` in ``apps`` (default: the project's).

    Raises ``LookupError`` naming the installed apps when an app is unknown.
    Models of other apps that a drawn model points at are drawn too, greyed.
    """
    registry = apps or global_apps
    labels = list(dict.fromkeys(app_labels))
    known = sorted(config.label for config in registry.get_app_configs())
    unknown = [a for a in labels if a not in known]
    if unknown:
        raise LookupError(
            f"No installed app {', '.join(map(repr, unknown))}; installed apps: {', '.join(known)}."
        )
    boxes: dict[str, ModelBox] = {}
    relations: list[Relation] = []
    drawn = [
        m
        for m in registry.get_models()
        if m._meta.app_label in labels and not m._meta.auto_created
    ]
    for model in sorted(drawn, key=lambda m: m._meta.label):
        meta = model._meta
        box = ModelBox(meta.label, meta.db_table)
        parents = [p._meta.label for p in meta.parents]
        if parents:
            box.note = "parents: " + ", ".join(parents)
        for f in meta.local_fields:
            box.columns.append((f.name, _field_text(f)))
            if f.is_relation and f.related_model is not None:
                relations.append(Relation(meta.label, f.name, f.related_model._meta.label, _relation_kind(f)))
        for f in meta.local_many_to_many:
            # Once the registry is ready, both ends of a many-to-many are model classes.
            through = cast("type[models.Model]", f.remote_field.through)
            target = f.related_model
            auto = through._meta.auto_created
            box.columns.append((f.name, f"(table {through._meta.db_table}): ManyToManyField"))
            relations.append(
                Relation(meta.label, f.name, target._meta.label, "m2m",
                         through._meta.db_table if auto else through._meta.label)
            )  # fmt: skip
        boxes[meta.label] = box
    for rel in relations:
        if rel.target not in boxes:
            try:
                target = registry.get_model(rel.target)
                table = target._meta.db_table
            except (LookupError, FieldDoesNotExist):
                table = "?"
            boxes[rel.target] = ModelBox(rel.target, table, note="(not drawn in full)")
    return ModelDiagram(list(boxes.values()), relations, labels)


@dataclass
class ModelDiagram:
    """Models, their columns and relations; renders as SVG, text or JSON."""

    boxes: list[ModelBox]
    relations: list[Relation]
    apps: Sequence[str]

    # -- serialisation

    def to_json(self) -> str:
        """The diagram as JSON (for :meth:`from_json` in another process)."""
        return json.dumps(
            {"boxes": [asdict(b) for b in self.boxes], "relations": [asdict(r) for r in self.relations],
             "apps": list(self.apps)},
            sort_keys=True,
        )  # fmt: skip

    @classmethod
    def from_json(cls, text: str) -> ModelDiagram:
        """Rebuild a diagram written by :meth:`to_json`."""
        data = json.loads(text)
        boxes = [
            ModelBox(b["label"], b["table"], [tuple(c) for c in b["columns"]], b["note"])
            for b in data["boxes"]
        ]
        return cls(boxes, [Relation(**r) for r in data["relations"]], data["apps"])

    # -- text

    def text(self) -> str:
        """One block per model: label, table, columns, and the relations it starts."""
        lines: list[str] = []
        for box in self._ordered():
            lines.append(f"{box.label} (table {box.table}){'  ' + box.note if box.note else ''}")
            lines += [f"  {name:<14} {text}" for name, text in box.columns]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.text()

    # -- layout

    def _columns(self) -> list[str]:
        """Apps left to right: related apps next to each other, pointed-at apps first."""
        apps = sorted({b.app for b in self.boxes})
        links = {(r.source.split(".")[0], r.target.split(".")[0]) for r in self.relations}
        links = {(s, t) for s, t in links if s != t}
        depth = dict.fromkeys(apps, 0)
        for _ in range(len(apps)):
            for s, t in sorted(links):
                if depth[s] <= depth[t]:
                    depth[s] = depth[t] + 1
        group = {a: a for a in apps}  # union-find over related apps

        def root(a: str) -> str:
            while group[a] != a:
                a = group[a]
            return a

        for s, t in sorted(links):
            group[max(root(s), root(t))] = min(root(s), root(t))
        return sorted(apps, key=lambda a: (root(a), depth[a], a))

    def _ordered(self) -> list[ModelBox]:
        columns = self._columns()
        return sorted(self.boxes, key=lambda b: (columns.index(b.app), b.label))

    def _layout(self) -> tuple[dict[str, tuple[int, int, int, int]], int, int]:
        columns = self._columns()
        widths = {}
        for app in columns:
            texts = [
                t
                for b in self.boxes
                if b.app == app
                for t in [b.label, f"table {b.table}", b.note, *(f"{n}  {c}" for n, c in b.columns)]
            ]
            widths[app] = max(len(t) for t in texts) * CHAR_W + 2 * BOX_PAD
        places: dict[str, tuple[int, int, int, int]] = {}
        x = MARGIN
        height = 0
        for app in columns:
            y = MARGIN + 22
            for box in sorted((b for b in self.boxes if b.app == app), key=lambda b: b.label):
                h = HEAD_H + LINE_H * len(box.columns) + (LINE_H if box.note else 0) + BOX_PAD
                places[box.label] = (x, y, widths[app], h)
                y += h + ROW_GAP
            height = max(height, y)
            x += widths[app] + COL_GAP
        legend = sum(36 + len(label) * CHAR_W + 24 for _, label in LEGEND)
        return places, max(x - COL_GAP + MARGIN + 40, legend + 2 * MARGIN), height + LEGEND_H

    # -- SVG

    def svg(self) -> str:
        """The diagram as a standalone SVG document (same models, same bytes)."""
        places, width, height = self._layout()
        out = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="monospace" font-size="12">',
            "<defs>"
            '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker>'
            "</defs>",
            f'<rect width="{width}" height="{height}" fill="white"/>',
        ]
        for app in self._columns():
            xs = [x for label, (x, _, _, _) in places.items() if label.split(".")[0] == app]
            out.append(
                f'<text x="{min(xs)}" y="{MARGIN + 10}" font-weight="bold" fill="#555">{escape(app)}</text>'
            )
        # Arrows first, boxes over them: an arrow crossing a box passes behind it.
        styles = {
            "fk": 'stroke="#444"',
            "o2o": 'stroke="#444" stroke-dasharray="5,3"',
            "parent": 'stroke="#846" stroke-width="3"',
            "virtual-parent": 'stroke="#846" stroke-width="3" stroke-dasharray="8,4"',
            "m2m": 'stroke="#264" stroke-width="2"',
        }
        for rel in self.relations:
            out.append(self._edge(rel, places, styles[rel.kind]))
        for box in self._ordered():
            x, y, w, h = places[box.label]
            greyed = box.app not in self.apps
            stroke, head = ("#aaa", "#f2f2f2") if greyed else ("#335", "#dde6f5")
            frame = f'x="{x}" y="{y}" width="{w}" rx="4" stroke="{stroke}"'
            out.append(f'<rect {frame} height="{h}" fill="white"/>')
            out.append(f'<rect {frame} height="{HEAD_H - 4}" fill="{head}"/>')
            out.append(f'<text x="{x + BOX_PAD}" y="{y + 15}" font-weight="bold">{escape(box.label)}</text>')
            out.append(f'<text x="{x + BOX_PAD}" y="{y + 29}" fill="#666">table {escape(box.table)}</text>')
            ty = y + HEAD_H + 10
            if box.note:
                out.append(f'<text x="{x + BOX_PAD}" y="{ty}" fill="#846">{escape(box.note)}</text>')
                ty += LINE_H
            for name, text in box.columns:
                detail = f'<tspan fill="#666">{escape(text)}</tspan>'
                out.append(f'<text x="{x + BOX_PAD}" y="{ty}">{escape(name)}  {detail}</text>')
                ty += LINE_H
        legend_y = height - LEGEND_H + 20
        lx = MARGIN
        for kind, label in LEGEND:
            ly = legend_y - 4
            out.append(f'<line x1="{lx}" y1="{ly}" x2="{lx + 30}" y2="{ly}" {styles[kind]}/>')
            out.append(f'<text x="{lx + 36}" y="{legend_y}" fill="#555">{escape(label)}</text>')
            lx += 36 + len(label) * CHAR_W + 24
        out.append("</svg>")
        return "\n".join(out)

    def _edge(self, rel: Relation, places: dict[str, tuple[int, int, int, int]], style: str) -> str:
        sx, sy, sw, _ = places[rel.source]
        tx, ty, tw, _ = places[rel.target]
        names = [n for n, _ in next(b for b in self.boxes if b.label == rel.source).columns]
        row = names.index(rel.field) if rel.field in names else 0
        note_rows = 1 if next(b for b in self.boxes if b.label == rel.source).note else 0
        y1 = sy + HEAD_H + 6 + LINE_H * (row + note_rows)
        y2 = ty + HEAD_H // 2
        if rel.source == rel.target:
            x1 = sx + sw
            return (f'<path d="M{x1},{y1} C{x1 + 40},{y1} {x1 + 40},{y2} {x1},{y2}" fill="none" {style} '
                    'marker-end="url(#arrow)"/>')  # fmt: skip
        if tx + tw <= sx:  # target to the left
            x1, x2 = sx, tx + tw
        elif tx >= sx + sw:  # target to the right
            x1, x2 = sx + sw, tx
        else:  # same column: loop around the right side
            x1, x2 = sx + sw, tx + tw
            bend = max(x1, x2) + 30
            return (f'<path d="M{x1},{y1} C{bend},{y1} {bend},{y2} {x2},{y2}" fill="none" {style} '
                    'marker-end="url(#arrow)"/>')  # fmt: skip
        mid = (x1 + x2) // 2
        start = ' marker-start="url(#arrow)"' if rel.kind == "m2m" else ""
        return (f'<path d="M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}" fill="none" {style}'
                f'{start} marker-end="url(#arrow)"/>')  # fmt: skip

    def _repr_svg_(self) -> str:
        return self.svg()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, str]:
        return {"image/svg+xml": self.svg(), "text/plain": self.text()}
