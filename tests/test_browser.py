"""The main workflow journey in a real browser: setup, login, import, live search, rename, export."""
import json
import os
import re
from pathlib import Path

import pytest

from tests.conftest import make_app
from tests.helpers import OWNER_EMAIL, OWNER_PASSWORD, serving

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
EXPORT_FILE = Path(__file__).parent / "data" / "n8n_export.json"


def _require_chromium():
    if os.path.exists(CHROMIUM):
        return
    message = f"Chromium is not installed at {CHROMIUM}"
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message} (REQUIRE_SERVICES=1)")
    pytest.skip(message)


@pytest.fixture
def live_server(sqlite_url):
    """The real app over HTTP on a free port; threaded, because the browser opens several connections."""
    with serving(make_app(sqlite_url)) as base_url:
        yield base_url


@pytest.mark.browser
def test_setup_import_search_rename_export(live_server, tmp_path):
    _require_chromium()
    from playwright.sync_api import expect, sync_playwright

    source = json.loads(EXPORT_FILE.read_text(encoding="utf-8"))
    new_name = "Nightly lead sync v2"

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.set_default_timeout(10_000)

            # A fresh instance has no users, so every page leads to the owner setup.
            page.goto(live_server + "/")
            expect(page).to_have_url(re.compile(r"/setup$"))
            expect(page.get_by_role("heading", name="Set up FlowForge")).to_be_visible()
            page.get_by_label("Your name").fill("Olive Owner")
            page.get_by_label("Email").fill(OWNER_EMAIL)
            page.get_by_label("Password", exact=True).fill(OWNER_PASSWORD)
            page.get_by_label("Repeat the password").fill(OWNER_PASSWORD)
            page.get_by_role("button", name="Create owner account").click()

            expect(page).to_have_url(re.compile(r"/login$"))
            expect(page.locator(".flash-success")).to_contain_text("Your owner account is ready")
            page.get_by_label("Email").fill(OWNER_EMAIL)
            page.get_by_label("Password", exact=True).fill(OWNER_PASSWORD)
            page.get_by_role("button", name="Log in").click()

            expect(page).to_have_url(re.compile(r"/workflows$"))
            expect(page.get_by_role("heading", name="Workflows", exact=True)).to_be_visible()
            expect(page.locator("#workflow-table")).to_contain_text("No workflows yet.")

            # A second workflow gives the live search something to filter out.
            page.get_by_label("New workflow name").fill("Weekly invoice export")
            page.get_by_role("button", name="Create", exact=True).click()
            expect(page.locator("#workflow-name")).to_have_text("Weekly invoice export")

            page.get_by_role("link", name="Workflows", exact=True).click()
            page.get_by_role("link", name="Import", exact=True).click()
            expect(page.get_by_role("heading", name="Import workflows")).to_be_visible()
            page.get_by_label("Workflow file (.json)").set_input_files(EXPORT_FILE)
            page.get_by_role("button", name="Import", exact=True).click()

            expect(page).to_have_url(re.compile(r"/workflows/[A-Za-z0-9]{16}$"))
            expect(page.locator("#workflow-name")).to_have_text("Daily lead sync")
            expect(page.locator(".flash-success")).to_contain_text('Imported "Daily lead sync".')

            page.get_by_role("link", name="Workflows", exact=True).click()
            table = page.locator("#workflow-table")
            expect(table.locator("tbody tr")).to_have_count(2)

            search = page.get_by_role("searchbox", name="Search by name")
            search.press_sequentially("LEAD s", delay=30)
            # The swap replaces only the table; the pushed URL proves HTMX did it, not a page load.
            expect(page).to_have_url(re.compile(r"/workflows\?q=LEAD(\+|%20)s"))
            expect(table.locator("tbody tr")).to_have_count(1)
            expect(table.get_by_role("link", name="Daily lead sync")).to_be_visible()
            expect(table).not_to_contain_text("Weekly invoice export")
            expect(search).to_be_focused()

            search.fill("no such workflow")
            expect(table.locator(".empty")).to_have_text("No workflow matches “no such workflow”.")
            expect(table.locator("tbody tr")).to_have_count(0)

            search.fill("daily")
            table.get_by_role("link", name="Daily lead sync").click()
            expect(page.locator("#workflow-name")).to_have_text("Daily lead sync")

            name_input = page.get_by_label("Workflow name")
            expect(name_input).to_have_value("Daily lead sync")
            name_input.fill(new_name)
            page.get_by_role("button", name="Rename").click()
            expect(page.locator("#workflow-name")).to_have_text(new_name)
            expect(page.locator(".flash-success")).to_contain_text(f'Renamed to "{new_name}".')
            expect(page).to_have_title(f"{new_name} · FlowForge")

            with page.expect_download() as download_info:
                page.get_by_role("link", name="Export").click()
            download = download_info.value
            assert download.suggested_filename == "Nightly_lead_sync_v2.json"
            exported = json.loads(Path(download.path()).read_text(encoding="utf-8"))
            assert exported["name"] == new_name
            assert exported["nodes"] == source["nodes"]
            assert exported["connections"] == source["connections"]
            assert exported["settings"] == source["settings"]
            assert [tag["name"] for tag in exported["tags"]] == ["sales"]
            assert exported["active"] is False

            screenshot = tmp_path / "workflow.png"
            page.screenshot(path=screenshot, full_page=True)
            assert screenshot.stat().st_size > 0
        finally:
            browser.close()
