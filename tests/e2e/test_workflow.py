"""Run, history, reload, share links, export and import, inspecting files, and no double firing."""

from __future__ import annotations

import json
import re

import torch
from playwright.sync_api import Page, Route, expect

from tests.e2e.conftest import layer_row, shot

GUIDE_CODE = """shared = nn.LazyLinear(8)
net = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.LazyLinear(1))
X = torch.rand(size=(2, 4))
net(X)"""


def build(page: Page) -> None:
    page.get_by_role("button", name="Build", exact=True).click()
    expect(page.locator("#topbar .status")).to_contain_text("v1 ·")


def test_run_history_and_reload(app: Page):
    page = app
    build(page)
    model_url = page.url
    assert re.search(r"\?model=\w+", model_url)

    # run a forward pass on a seeded batch
    page.get_by_role("tab", name="Run").click()
    run = page.get_by_role("tabpanel", name="Run")
    expect(run.get_by_label("Input (JSON, batch first)")).to_have_attribute("placeholder",
                                                                          "optional, e.g. [[0, 0, 0, 0]]")
    run.get_by_label("Seed").fill("3")
    run.get_by_role("button", name="Run forward").click()
    activations = run.get_by_role("table", name="Activations")
    expect(activations.locator("tbody tr")).to_have_count(3)
    expect(activations.locator("tbody tr").nth(1)).to_contain_text(re.compile(r"\d+\.\d%$"))  # dead units of ReLU
    expect(run.get_by_text(re.compile(r"Output shape \[64, 1\] · a random batch, seed 3"))).to_be_visible()
    expect(run.get_by_role("img", name="Activations of layer 1")).to_be_visible()
    shot(page, "run")

    # two inits make history; view v2, restore v1 as v4
    page.get_by_role("tab", name="Initialize").click()
    init = page.get_by_role("tabpanel", name="Initialize")
    init.get_by_role("button", name="init_normal").click()
    init.get_by_role("button", name="Apply").click()
    expect(page.locator("#topbar .status")).to_contain_text("v2 ·")
    page.get_by_role("tab", name="Initialize").click()
    init.get_by_role("button", name="xavier on 0, 42 on 2").click()
    init.get_by_role("button", name="Apply").click()
    expect(page.locator("#topbar .status")).to_contain_text("v3 ·")
    page.get_by_role("tab", name="History").click()
    history = page.get_by_role("tabpanel", name="History")
    expect(history.locator("tbody tr")).to_have_count(3)
    expect(history.locator("tbody tr").first).to_contain_text("v3init")
    history.get_by_role("button", name="View version 1").click()
    expect(page.locator("#topbar .status")).to_contain_text("viewing v1")
    expect(history.get_by_role("link", name="Download .pt").first).to_have_attribute("href", re.compile("version=3"))
    page.get_by_role("tab", name="Files").click()
    expect(page.get_by_role("tabpanel", name="Files").get_by_role("link", name="Download .pt")).to_have_attribute(
        "href", re.compile("version=1"))
    page.get_by_role("tab", name="History").click()
    history.get_by_role("button", name="Restore version 1").click()
    expect(page.locator("#topbar .status")).to_contain_text("v4 ·")
    expect(history.locator("tbody tr").first).to_contain_text("restore v1")
    shot(page, "history")

    # an unbuilt edit and the model survive a reload
    page.get_by_role("button", name="Add Tanh").click()
    expect(layer_row(page, "3")).to_be_visible()
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    assert page.url == model_url
    expect(page.locator("#topbar .status")).to_contain_text("v4 ·")
    expect(page.locator("#topbar .status")).to_contain_text("draft changed since build")
    expect(layer_row(page, "3").locator(".label")).to_contain_text("Tanh")
    expect(page.get_by_label("Model")).to_have_value(re.compile(r"\w{12}"))


def test_share_export_import_and_inspect(app: Page, tmp_path, server):
    page = app
    # import PyTorch code: nothing is executed; the tie comes back
    page.get_by_role("tab", name="Files").click()
    files = page.get_by_role("tabpanel", name="Files")
    files.get_by_label("PyTorch code to import").fill(GUIDE_CODE)
    files.get_by_role("button", name="Import code").click()
    expect(layer_row(page, "4").locator(".tie-mark")).to_have_text("tied: shared")
    expect(page.get_by_text("Total: 121 parameters")).to_be_visible()

    # a spec link opens the same draft in a fresh page
    page.get_by_role("button", name="Copy spec link").click()
    link = page.evaluate("navigator.clipboard.readText()")
    assert "#spec=" in link
    other = page.context.new_page()
    other.goto(link)
    expect(other.locator("body")).to_have_attribute("data-ready", "true")
    expect(other.locator("li.layer[data-address='4'] .tie-mark")).to_have_text("tied: shared")
    other.close()

    # export the spec as JSON, and the built network as code
    with page.expect_download() as download:
        files.get_by_role("button", name="Download spec JSON").click()
    spec = json.loads(download.value.path().read_text())
    assert spec["layers"][4] == {"tie": "shared"} and spec["input_shape"] == [4]
    build(page)
    page.get_by_role("tab", name="Files").click()
    files.get_by_role("button", name="Show PyTorch code").click()
    expect(files.locator("pre.code")).to_contain_text("shared = nn.LazyLinear(out_features=8)")
    files.get_by_role("button", name="Copy code").click()
    assert "nn.Sequential(" in page.evaluate("navigator.clipboard.readText()")

    # import a spec file
    spec["layers"].append({"type": "Sigmoid"})
    (tmp_path / "net.json").write_text(json.dumps(spec))
    files.get_by_label("Spec file (JSON)").set_input_files(str(tmp_path / "net.json"))
    expect(layer_row(page, "7").locator(".label")).to_contain_text("Sigmoid")
    expect(page.locator("#topbar .status")).to_contain_text("Not built yet")

    # inspect the guide's files
    torch.save({"x": torch.arange(4), "y": torch.zeros(4)}, tmp_path / "mydict")
    files.get_by_label("Inspect a file").set_input_files(str(tmp_path / "mydict"))
    expect(files.locator(".tree")).to_contain_text("x: tensor [4] int64 · mean 1.500")
    expect(files.locator(".tree")).to_contain_text("y: tensor [4] float32")
    shot(page, "files-inspect")


def test_a_slow_apply_shows_busy_and_cannot_fire_twice(app: Page):
    page = app
    build(page)
    held: list[Route] = []
    page.route(re.compile(r".*/api/models/\w+/init$"), lambda route: held.append(route))  # held until released
    page.get_by_role("tab", name="Initialize").click()
    init = page.get_by_role("tabpanel", name="Initialize")
    apply = init.get_by_role("button", name="Apply")
    apply.click()
    expect(apply).to_be_disabled()
    expect(apply).to_have_attribute("aria-busy", "true")
    apply.dispatch_event("click")  # a second click while busy does nothing
    page.wait_for_timeout(200)
    assert len(held) == 1
    held[0].continue_()
    expect(page.locator("#topbar .status")).to_contain_text("v2 ·")
    assert len(held) == 1
