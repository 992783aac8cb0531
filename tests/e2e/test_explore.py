"""Exploring: log scale and a shared range, slices of a 4-D tensor, a pasted input, a dropped file."""

from __future__ import annotations

import base64
import io
import re

import torch
from playwright.sync_api import Page, expect

CONV_CODE = """net = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.LazyLinear(4))
X = torch.randn(1, 2, 5, 5)"""


def test_explore_a_conv_net(app: Page):
    page = app
    page.get_by_role("tab", name="Files").click()
    files = page.get_by_role("tabpanel", name="Files")
    files.get_by_label("PyTorch code to import").fill(CONV_CODE)
    files.get_by_role("button", name="Import code").click()
    expect(page.locator("li.layer[data-address='3'] .shape")).to_have_text("[4]")
    page.get_by_role("button", name="Build", exact=True).click()
    expect(page.locator("#topbar .status")).to_contain_text("v1 · 361 parameters")

    # histograms: log scale and one shared range for every parameter
    page.get_by_role("tab", name="Histograms").click()
    grid = page.get_by_role("tabpanel", name="Histograms")
    expect(grid.get_by_role("img", name="Histogram of 3.bias")).to_be_visible()
    grid.get_by_label("Log scale").check()
    page.wait_for_function("document.querySelector('.plot[data-param=\"0.weight\"]').layout.yaxis.type === 'log'")
    grid.get_by_label("Shared range").check()
    page.wait_for_function("""() => {
        const edges = [...document.querySelectorAll('.plot')].map(p => p.data[0].x[0]);
        return edges.length === 4 && edges.every(x => Math.abs(x - edges[0]) < 1e-9);
    }""")

    # the tensor view of a 4-D weight: pick a slice, see its 3x3 kernel, edit one value
    page.get_by_role("tab", name="Tensor").click()
    tensor = page.get_by_role("tabpanel", name="Tensor")
    tensor.get_by_label("Tensor").select_option("0.weight")
    expect(tensor.get_by_label("Index along axis 1")).to_be_visible()
    tensor.get_by_label("Index along axis 0").fill("2")
    tensor.get_by_label("Index along axis 0").press("Tab")
    tensor.get_by_label("Index along axis 1").fill("1")
    tensor.get_by_label("Index along axis 1").press("Tab")
    state = page.evaluate("fetch(`/api/models/${new URL(location).searchParams.get('model')}/state_dict?layer=0`)"
                          ".then(r => r.json())")
    page.wait_for_function("expected => JSON.stringify(document.querySelector('[data-key=\"0.weight\"]').data[0].z)"
                           " === JSON.stringify(expected)", arg=state["weight"]["values"][2][1])
    tensor.get_by_label("Element index").fill("2, 1, 0, 2")
    tensor.get_by_label("Value").fill("-3.25")
    tensor.get_by_role("button", name="Set value").click()
    expect(tensor.locator(".edit-result")).to_contain_text("0.weight[2, 1, 0, 2] = -3.25")
    page.wait_for_function("document.querySelector('[data-key=\"0.weight\"]').data[0].z[0][2] === -3.25")

    # a pasted input runs through the network
    page.get_by_role("tab", name="Run").click()
    run = page.get_by_role("tabpanel", name="Run")
    run.get_by_label("Input (JSON, batch first)").fill(str(torch.zeros(1, 2, 5, 5).tolist()))
    run.get_by_role("button", name="Run forward").click()
    expect(run.get_by_text(re.compile(r"Output shape \[1, 4\]"))).to_be_visible()
    run.get_by_label("Input (JSON, batch first)").fill("[[1, 2]")
    run.get_by_role("button", name="Run forward").click()
    expect(run.locator(".field.invalid, .field-error:not([hidden])").first).to_contain_text("not JSON")

    # drop a parameter file onto the page: a progress bar, then the report
    state = page.evaluate("fetch(`/api/models/${new URL(location).searchParams.get('model')}/state_dict`)"
                          ".then(r => r.json())")
    tensors = {k: torch.tensor(v["values"]) for k, v in state.items()}
    tensors["3.bias"] = torch.full((4,), 0.5)
    buffer = io.BytesIO()
    torch.save(tensors, buffer)
    page.get_by_role("tab", name="Files").click()
    drop = files.get_by_text("Drop a .pt or .safetensors file here")
    handle = page.evaluate_handle("""data => {
        const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], "dropped.pt"));
        return transfer;
    }""", base64.b64encode(buffer.getvalue()).decode())
    drop.dispatch_event("drop", {"dataTransfer": handle})
    expect(files.locator(".report")).to_contain_text("Loaded 4 tensors from the pt file: now version 3")
    expect(files.get_by_role("progressbar", name="Upload progress")).to_have_attribute("value", "1")
    page.get_by_role("tab", name="Parameters").click()
    expect(page.get_by_role("row", name=re.compile(r"^3\.bias"))).to_contain_text("0.5000")
