"""Assemble: palette, filter, Enter and drag to add, reorder, delete, blocks, forms, shapes, lazy."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import layer_row, shot


def top_level(page: Page):
    return page.locator("ol.layers > li.layer > .row button.select")


def test_assemble_a_network(app: Page):
    page = app
    expect(page.get_by_text("Total: 49 parameters")).to_be_visible()
    expect(layer_row(page, "2").locator(".shape")).to_have_text("[1]")

    # filter the palette, add with Enter (after the selected layer)
    page.get_by_role("button", name="Layer 1: ReLU").click()
    page.get_by_label("Filter layers").fill("norm")
    expect(page.get_by_role("button", name="Add Linear", exact=True)).to_be_hidden()
    page.get_by_role("button", name="Add LayerNorm").press("Enter")
    expect(layer_row(page, "2").locator(".label")).to_have_text("2 · LayerNorm")
    page.get_by_label("Filter layers").fill("")

    # the form comes from the schema; the server's error shows at the field
    form = page.get_by_role("tabpanel", name="Layer")
    expect(form.get_by_role("heading")).to_have_text("Layer 2: LayerNorm")
    form.get_by_label("normalized_shape *").fill("5")
    form.get_by_label("normalized_shape *").press("Tab")
    expect(layer_row(page, "2").locator(".row-error")).to_contain_text("layer 2 (LayerNorm) cannot take an input")
    form.get_by_label("normalized_shape *").fill("8")
    form.get_by_label("normalized_shape *").press("Tab")
    expect(layer_row(page, "2").locator(".shape")).to_have_text("[8]")
    expect(page.get_by_text("Total: 65 parameters")).to_be_visible()
    page.get_by_role("button", name="Layer 0: LazyLinear").click()
    form.get_by_label("out_features *").fill("0")
    form.get_by_label("out_features *").press("Tab")
    expect(form.locator(".field.invalid .field-error")).to_contain_text("greater than or equal to 1")
    form.get_by_label("out_features *").fill("8")
    form.get_by_label("out_features *").press("Tab")

    # drag from the palette to the end, then drag a row to reorder
    page.get_by_role("button", name="Add Tanh").drag_to(page.get_by_text("Drop a layer here to append it"))
    expect(layer_row(page, "4").locator(".label")).to_have_text("4 · Tanh")
    layer_row(page, "4").drag_to(layer_row(page, "0").locator(".label"))
    expect(layer_row(page, "0").locator(".label")).to_have_text("0 · Tanh")

    # delete
    page.get_by_role("button", name="Delete layer 0").click()
    expect(top_level(page)).to_have_count(4)
    for i, name in enumerate(["LazyLinear", "ReLU", "LayerNorm", "LazyLinear"]):
        expect(top_level(page).nth(i)).to_have_attribute("aria-label", f"Layer {i}: {name}")

    # a nested block: add it, drag a layer into it, collapse it
    page.get_by_role("button", name="Add Sequential").click()
    page.get_by_role("button", name="Add Sigmoid").drag_to(page.get_by_text("Drop here to add to this block"))
    expect(page.locator("li.layer[data-address='4.0'] .label")).to_have_text("4.0 · Sigmoid")
    expect(layer_row(page, "4").locator(":scope > .row .shape")).to_have_text("[1]")
    page.get_by_role("button", name="Collapse block 4").click()
    expect(page.locator("li.layer[data-address='4.0']")).to_be_hidden()
    shot(page, "assemble")

    # lazy lifecycle: no input shape -> shapes pending; build; materialize
    page.get_by_label("Input shape").fill("")
    page.get_by_label("Input shape").press("Tab")
    expect(layer_row(page, "0").locator(".shape")).to_have_text("shape pending")
    page.get_by_role("button", name="Build", exact=True).click()
    expect(page.locator("#topbar .status")).to_contain_text("lazy: shape pending")
    page.get_by_label("Input shape").fill("4")
    page.get_by_label("Input shape").press("Tab")
    page.get_by_role("button", name="Materialize").click()
    expect(page.locator("#topbar .status")).to_contain_text("materialized")
    expect(layer_row(page, "0").locator(".now")).to_have_text("→ Linear")
    expect(page.get_by_role("button", name="Materialize")).to_be_hidden()
    page.get_by_role("tab", name="Parameters").click()
    expect(page.get_by_role("row", name=re.compile(r"^0\.weight \[8, 4\] 32"))).to_be_visible()
    expect(page).to_have_url(re.compile(r"\?model=\w+"))
