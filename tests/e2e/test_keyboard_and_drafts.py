"""Keyboard use, live feedback while typing, drafts kept per model, and old versions read-only."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import layer_row


def status(page: Page):
    return page.locator("#topbar .status")


def test_keyboard_and_typing(app: Page):
    page = app
    # one tab stop for the palette, arrows inside it, Enter adds after the selected layer
    page.get_by_label("Filter layers").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Add Linear", exact=True)).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("button", name="Add LazyLinear")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Layer 0: LazyLinear")).to_be_focused()

    # rows: arrows go down, Alt+arrows move the layer, focus stays on it
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("button", name="Layer 1: ReLU")).to_be_focused()
    page.keyboard.press("Alt+ArrowDown")
    expect(page.get_by_role("button", name="Layer 2: ReLU")).to_be_focused()
    page.keyboard.press("Alt+ArrowUp")
    expect(page.get_by_role("button", name="Layer 1: ReLU")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("tabpanel", name="Layer").get_by_role("heading")).to_have_text("Layer 1: ReLU")

    # typing changes shapes as you type, and keeps the caret in the field
    page.get_by_role("button", name="Layer 0: LazyLinear").click()
    field = page.get_by_role("tabpanel", name="Layer").get_by_label("out_features *")
    field.fill("")
    field.press_sequentially("16", delay=50)
    expect(layer_row(page, "0").locator(".shape")).to_have_text("[16]")
    expect(field).to_be_focused()
    expect(page.get_by_text("Total: 97 parameters")).to_be_visible()

    # deleting with the keyboard leaves the focus on a neighbouring row
    page.get_by_role("button", name="Delete layer 1").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Layer 1: LazyLinear")).to_be_focused()

    # tabs: Home and End
    page.get_by_role("tab", name="Initialize").focus()
    page.keyboard.press("End")
    expect(page.get_by_role("tab", name="History")).to_be_focused()
    page.keyboard.press("Home")
    expect(page.get_by_role("tab", name="Layer")).to_be_focused()


def test_drafts_per_model_and_read_only_versions(app: Page):
    page = app
    page.get_by_role("button", name="Build", exact=True).click()
    expect(status(page)).to_contain_text("v1 ·")
    model_url = page.url

    # an unbuilt edit survives a switch to a new network and back (the browser's Back too)
    page.get_by_role("button", name="Add Tanh").click()
    expect(status(page)).to_contain_text("draft changed since build")
    page.get_by_label("Model").select_option("")
    expect(status(page)).to_contain_text("Not built yet")
    expect(layer_row(page, "3")).to_have_count(0)
    page.go_back()
    expect(status(page)).to_contain_text("v1 ·")
    assert page.url == model_url
    expect(layer_row(page, "3").locator(".label")).to_contain_text("Tanh")

    # a second version; viewing v1 shows v1's values and changes nothing
    page.get_by_role("tab", name="Initialize").click()
    init = page.get_by_role("tabpanel", name="Initialize")
    init.get_by_role("button", name="xavier on 0, 42 on 2").click()
    init.get_by_role("button", name="Apply").click()
    expect(status(page)).to_contain_text("v2 ·")
    page.get_by_role("tab", name="History").click()
    page.get_by_role("button", name="View version 1").click()
    expect(status(page)).to_contain_text("viewing v1")
    page.get_by_role("tab", name="Tensor").click()
    tensor = page.get_by_role("tabpanel", name="Tensor")
    tensor.get_by_label("Tensor", exact=True).select_option("2.weight")
    old = page.evaluate("fetch(`/api/models/${new URL(location).searchParams.get('model')}/params/2.weight/values"
                        "?version=1`).then(r => r.json())")["values"]
    page.wait_for_function("v => JSON.stringify(document.querySelector('[data-key=\"2.weight\"]').data[0].z[0])"
                           " === JSON.stringify(v)", arg=old)
    expect(tensor.get_by_role("button", name="Set value")).to_be_disabled()
    page.get_by_role("tab", name="Initialize").click()
    expect(init.get_by_role("button", name="Apply")).to_be_disabled()

    # back to the current version: an empty value is refused at the field, nothing stored
    page.get_by_role("tab", name="History").click()
    page.get_by_role("button", name="Back to the current version").click()
    page.get_by_role("tab", name="Tensor").click()
    tensor.get_by_label("Element index").fill("0, 0")
    tensor.get_by_label("Value").fill("")
    tensor.get_by_label("Value").press("Enter")
    expect(tensor.locator(".field.invalid .field-error")).to_have_text("a finite number")
    expect(status(page)).to_contain_text(re.compile(r"^v2 ·"))
