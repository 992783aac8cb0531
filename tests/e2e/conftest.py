"""Browser tests: a real `layerlab serve`, Debian's Chromium driven by pytest-playwright.

Each test is one user story in one page (a fresh context costs ~1.7 s of plotly.js compilation
on two cores). The page must raise no script errors and log no console errors; a failed request
the story provokes on purpose (a 4xx the page then explains) is the only console line allowed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.serve import Server

CHROMIUM = os.environ.get("LAYERLAB_CHROMIUM", "/usr/bin/chromium")
EXPECTED_HTTP = re.compile(r"Failed to load resource: the server responded with a status of 4(09|12|13|15|22)")
SHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run", "--disable-quic"]}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 800}, "accept_downloads": True,
            "permissions": ["clipboard-read", "clipboard-write"]}


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[str]:
    with Server(tmp_path_factory.mktemp("e2e-data")) as client:
        yield str(client.base_url).rstrip("/")


@pytest.fixture(scope="session")
def base_url(server: str) -> str:
    """Overrides pytest-base-url's own fixture (deprecated in its form) with our server."""
    return server


@pytest.fixture
def app(page: Page, server: str) -> Iterator[Page]:
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: problems.append(f"console: {message.text}")
            if message.type == "error" and not EXPECTED_HTTP.search(message.text) else None)
    page.set_default_timeout(15_000)
    page.goto(server + "/")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    yield page
    assert problems == []


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def layer_row(page: Page, address: str):
    return page.locator(f"li.layer[data-address='{address}']")


def wait_checked(page: Page) -> None:
    expect(page.locator("body")).to_have_attribute("data-checked", re.compile("ok|error"))
