"""The model diagram: what it reads from models, and its deterministic SVG, text and JSON."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from bdmodels.fields import VirtualParentLink
from bdmodels.models import BrokenDownModel
from django.core.management import CommandError, call_command
from django.db import models
from django.test.utils import isolate_apps

from helpers.analysis.model_diagram import ModelDiagram, model_diagram


def relations(diagram):
    return {(r.source, r.field, r.target, r.kind, r.through) for r in diagram.relations}


def test_foreign_key_and_tables_of_the_project():
    diagram = model_diagram(["books", "authors"])
    assert sorted(b.label for b in diagram.boxes) == ["authors.Author", "books.Book"]
    assert ("books.Book", "author", "authors.Author", "fk", None) in relations(diagram)
    text = diagram.text()
    assert "books.Book (table books_book)" in text
    assert "ForeignKey → authors.Author (column author_id)" in text


def test_many_to_many_one_to_one_and_models_of_other_apps():
    diagram = model_diagram(["oldapp"])
    assert ("oldapp.Car", "features", "oldapp.Feature", "m2m", "oldapp_car_features") in relations(diagram)
    assert ("oldapp.Employee", "user", "auth.User", "o2o", None) in relations(diagram)
    user = next(b for b in diagram.boxes if b.label == "auth.User")
    assert user.note == "(not drawn in full)" and user.columns == []


@isolate_apps("central")
def test_parent_links_real_and_virtual():
    class Base(models.Model):
        class Meta:
            app_label = "central"

    class Child(Base):
        class Meta:
            app_label = "central"

    class Part(models.Model):
        part_id = models.IntegerField(primary_key=True)
        x = models.IntegerField()

        class Meta:
            app_label = "central"

    class Whole(BrokenDownModel, Part):
        id = models.BigAutoField(primary_key=True)
        part_ptr = VirtualParentLink(Part)

        class Meta:
            app_label = "central"

    diagram = model_diagram(["central"], apps=Child._meta.apps)
    found = relations(diagram)
    assert ("central.Child", "base_ptr", "central.Base", "parent", None) in found
    assert ("central.Whole", "part_ptr", "central.Part", "virtual-parent", None) in found
    whole = dict(next(b for b in diagram.boxes if b.label == "central.Whole").columns)
    assert whole["part_ptr"].endswith("(no column of its own: uses id)")


def test_svg_is_valid_and_byte_identical_between_runs():
    one = model_diagram(["oldapp", "newapp", "garage"]).svg()
    two = model_diagram(["garage", "oldapp", "newapp"]).svg()
    assert one == two
    root = ET.fromstring(one)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "oldapp.Car" in texts and "table oldapp_car" in texts
    assert 'stroke-dasharray="5,3"' in one  # the one-to-one arrow


def test_json_round_trip():
    diagram = model_diagram(["books", "authors"])
    again = ModelDiagram.from_json(diagram.to_json())
    assert again.svg() == diagram.svg()
    assert again.text() == diagram.text()


def test_unknown_app_is_refused_naming_the_installed_ones():
    with pytest.raises(LookupError, match=r"No installed app 'bookz'; installed apps: .*books"):
        model_diagram(["bookz"])
    with pytest.raises(CommandError, match="No installed app 'bookz'"):
        call_command("model_diagram", "bookz")


def test_command_formats(capsys, tmp_path):
    call_command("model_diagram", "books", "authors")
    assert "books.Book (table books_book)" in capsys.readouterr().out
    target = tmp_path / "m.svg"
    call_command("model_diagram", "books", "--format", "svg", "--output", str(target))
    assert target.read_text().startswith("<svg ")
