"""The builder's guide through the page: tie, edit a tied weight, initialize, histograms, files."""

from __future__ import annotations

import re

import torch
from playwright.sync_api import Page, expect

from tests.e2e.conftest import layer_row, shot


def plot_data(page: Page, selector: str) -> list[dict]:
    return page.eval_on_selector(selector, "el => el.data.map(t => ({x: t.x, y: t.y, z: t.z, name: t.name}))")


def build_tied_net(page: Page) -> None:
    """From the guide's seed network to `shared` used at positions 2 and 4, as the guide writes it."""
    page.get_by_role("button", name="Layer 1: ReLU").click()
    page.get_by_role("button", name="Add LazyLinear").click()  # inserted after the selected layer
    form = page.get_by_role("tabpanel", name="Layer")
    form.get_by_label("out_features *").fill("8")
    form.get_by_label("out_features *").press("Tab")
    page.get_by_role("button", name="Reuse layer 2").click()
    page.get_by_role("button", name="Layer 2: LazyLinear").click()
    page.get_by_role("button", name="Add ReLU", exact=True).click()
    page.get_by_role("button", name="Layer 4: tie to shared1").click()
    page.get_by_role("button", name="Add ReLU", exact=True).click()
    expect(page.get_by_text("Total: 121 parameters")).to_be_visible()


def test_tie_edit_initialize_and_files(app: Page, tmp_path):
    page = app
    build_tied_net(page)
    names = [page.get_by_role("button", name=re.compile(f"^Layer {i}:")).get_attribute("aria-label")
             for i in range(7)]
    assert names == ["Layer 0: LazyLinear", "Layer 1: ReLU", "Layer 2: LazyLinear", "Layer 3: ReLU",
                     "Layer 4: tie to shared1", "Layer 5: ReLU", "Layer 6: LazyLinear"]
    # tied positions share a colour and a link mark; selecting one highlights the other
    expect(layer_row(page, "2").locator(".tie-mark")).to_have_text("tied: shared1")
    expect(layer_row(page, "4").locator(".tie-mark")).to_have_text("tied: shared1")
    colour = layer_row(page, "2").evaluate("el => getComputedStyle(el).borderLeftColor")
    assert colour == layer_row(page, "4").evaluate("el => getComputedStyle(el).borderLeftColor")
    page.get_by_role("button", name="Layer 4: tie to shared1").click()
    expect(layer_row(page, "2")).to_have_class(re.compile("linked"))
    expect(layer_row(page, "4").locator(".count")).to_have_text("72 params")

    page.get_by_role("button", name="Build", exact=True).click()
    expect(page.locator("#topbar .status")).to_contain_text("v1 · 121 parameters")

    # the parameter table: named_parameters() order, 2.weight tied with 4.weight
    page.get_by_role("tab", name="Parameters").click()
    table = page.get_by_role("table", name="Parameters")
    expect(table.locator("tbody th")).to_have_text(["0.weight", "0.bias", "2.weight", "2.bias", "6.weight", "6.bias"])
    expect(table.get_by_role("row", name=re.compile(r"^2\.weight"))).to_contain_text("4.weight")

    # edit 2.weight[0, 0] in the tensor view: 4.weight shows it on screen
    table.get_by_role("button", name="2.weight").click()
    tensor = page.get_by_role("tabpanel", name="Tensor")
    expect(tensor.get_by_role("img", name="Heat map of 4.weight")).to_be_visible()
    tensor.get_by_label("Element index").fill("0, 0")
    tensor.get_by_label("Value").fill("100")
    tensor.get_by_role("button", name="Set value").click()
    expect(tensor.locator(".edit-result")).to_contain_text("2.weight[0, 0] = 100; 4.weight shows it too")
    expect(page.locator("#topbar .status")).to_contain_text("v2")
    page.wait_for_function("document.querySelector('[data-key=\"4.weight\"]').data[0].z[0][0] === 100")
    assert plot_data(page, "[data-key='2.weight']")[0]["z"][0][0] == 100
    shot(page, "tensor")

    # initialize: xavier on layer 0 and 42 on layer 2, then the my_init rule
    page.get_by_role("tab", name="Initialize").click()
    init = page.get_by_role("tabpanel", name="Initialize")
    init.get_by_role("button", name="xavier on 0, 42 on 2").click()
    init.get_by_label("Seed").fill("1")
    init.get_by_role("button", name="Apply").click()
    expect(page.locator("#topbar .status")).to_contain_text("v3")
    grid = page.get_by_role("tabpanel", name="Histograms")
    expect(grid.get_by_role("img", name="Histogram of 2.weight")).to_be_visible()
    stats = page.evaluate("fetch(`/api/models/${new URL(location).searchParams.get('model')}/params`)"
                          ".then(r => r.json())")
    weight = next(p for p in stats if p["name"] == "2.weight")
    assert weight["stats"]["min"] == weight["stats"]["max"] == 42
    assert abs(next(p for p in stats if p["name"] == "0.weight")["stats"]["max"]) <= (6 / 12) ** 0.5

    page.get_by_role("tab", name="Initialize").click()
    init.get_by_role("button", name="my_init").click()
    init.get_by_role("button", name="Apply").click()
    expect(page.locator("#topbar .status")).to_contain_text("v4")
    expect(grid.get_by_role("img", name="Histogram of 0.weight")).to_be_visible()
    grid.get_by_label("Bins").fill("12")
    grid.get_by_label("Bins").press("Tab")
    expect(grid.locator(".plot[data-param='0.weight']")).to_have_attribute("data-bars", "12")
    page.wait_for_function("document.querySelector('.plot[data-param=\"0.weight\"]').data.length === 2")
    traces = plot_data(page, ".plot[data-param='0.weight']")
    assert [t["name"] for t in traces] == ["v4", "v3 (before)"] and len(traces[0]["y"]) == 12
    assert sum(traces[0]["y"]) == 32 and len(traces[1]["x"]) == 13  # the "before" outline: 12 bins, 13 edges
    shot(page, "histograms")
    state = page.evaluate("fetch(`/api/models/${new URL(location).searchParams.get('model')}/state_dict`)"
                          ".then(r => r.json())")
    values = torch.tensor(state["2.weight"]["values"])
    assert ((values == 0) | ((values.abs() >= 5) & (values.abs() <= 10))).all()

    # an expression outside the grammar: the error shows at the field, nothing changes
    page.get_by_role("tab", name="Initialize").click()
    init.get_by_label("Expression").fill("w.grad")
    init.get_by_role("button", name="Apply").click()
    expect(init.locator(".field.invalid .field-error")).to_contain_text("Attribute is not allowed")
    expect(page.locator("#topbar .status")).to_contain_text("v4")

    # download the .pt, load it with torch.load(weights_only=True), change it, upload it
    page.get_by_role("tab", name="Files").click()
    files = page.get_by_role("tabpanel", name="Files")
    with page.expect_download() as download:
        files.get_by_role("link", name="Download .pt").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.name.endswith("-v4.pt")
    loaded = torch.load(path, weights_only=True)
    assert torch.equal(loaded["2.weight"], loaded["4.weight"]) and torch.equal(loaded["2.weight"], values)
    loaded["6.bias"] = torch.tensor([7.5])
    changed = tmp_path / "changed.pt"
    torch.save(loaded, changed)
    files.get_by_label("Upload parameters").set_input_files(str(changed))
    expect(files.locator(".report")).to_contain_text("Loaded 8 tensors from the pt file: now version 5")
    page.get_by_role("tab", name="Parameters").click()
    expect(table.get_by_role("row", name=re.compile(r"^6\.bias"))).to_contain_text("7.5000")

    # a file that does not fit: the report says so and the model stays as it was
    partial = tmp_path / "partial.pt"
    torch.save({"0.weight": loaded["0.weight"]}, partial)
    page.get_by_role("tab", name="Files").click()
    files.get_by_label("Upload parameters").set_input_files(str(partial))
    expect(files.locator(".report")).to_contain_text("nothing was changed")
    expect(files.locator(".report")).to_contain_text("missing (7)")
    expect(page.locator("#topbar .status")).to_contain_text("v5")
    shot(page, "files")
