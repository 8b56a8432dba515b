"""The dashboard in Chromium on the local stack: sign in, upload, list, filter, open, delete.

Every step leaves a screenshot in build/screenshots/ (WIDTH-NN-step.png) to look at.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import smtplib
import time
import urllib.request
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from typing import TYPE_CHECKING, Any

import pytest

from mailroom.cli.render import human_size
from mailroom.local.app import LocalMailroom
from mailroom.model import Bounds

from .conftest import SUBMIT, screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails, in CI) and says why
    expect = None

HEIGHTS = {1280: 900, 375: 812}
EMAIL_SENDER = "elodie.martin@partner-avocats.example"  # collaborator-two-pdfs.eml
EMAIL_FILE = "Attestation de résidence – Dupont.pdf"
RECORD_WAIT_MS = 60_000
FIRST_LOAD_MS = 30_000


def api_get(stack: LocalMailroom, path: str) -> Any:
    """The API as a script calls it, with the token `mailroom local` prints."""
    assert stack.api is not None
    request = urllib.request.Request(
        stack.api.url + path, headers={"Authorization": f"Bearer {stack.api.token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def open_dashboard(browser: Browser, stack: LocalMailroom, width: int) -> Page:
    assert stack.api is not None
    context = browser.new_context(viewport={"width": width, "height": HEIGHTS[width]})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    assert stack.dashboard_url is not None
    page.goto(stack.dashboard_url)  # the link `mailroom local` prints: the token in the fragment
    expect(page.locator("#user-name")).to_have_text(stack.api.staff_address)
    # The page keeps the token for this tab and takes it out of the address bar.
    expect(page).to_have_url(stack.api.url + "/")
    # The first request may start the api function's worker process: on a busy machine that
    # takes longer than expect's default five seconds.
    expect(page.locator("#files-body tr:not(.empty)").first).to_be_visible(timeout=FIRST_LOAD_MS)
    settled(page)
    return page


def drop_files(page: Page, files: dict[str, tuple[bytes, str]]) -> None:
    """A real `drop` on the zone, its DataTransfer built in the page from the files' bytes."""
    payload = [
        {"name": name, "type": kind, "data": base64.b64encode(data).decode()}
        for name, (data, kind) in files.items()
    ]
    page.evaluate(
        """(files) => {
            const transfer = new DataTransfer();
            for (const f of files) {
                const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
                transfer.items.add(new File([bytes], f.name, { type: f.type }));
            }
            const zone = document.getElementById("drop-zone");
            for (const type of ["dragenter", "dragover", "drop"]) {
                zone.dispatchEvent(new DragEvent(type, {
                    dataTransfer: transfer, bubbles: true, cancelable: true,
                }));
            }
        }""",
        payload,
    )


def uploaded(page: Page, count: int, timeout: int = RECORD_WAIT_MS) -> None:
    """Wait on the page's state, not on an element: every upload ended, each of them
    recorded, the list refreshed after the last one (the summary is said only then), and no
    load under way.

    Waiting for the items alone left refreshes in flight: a row found then could be replaced
    by the next render before it was used ("Element is not attached to the DOM").
    """
    ended = "#uploads .upload-item:is([data-state=done],[data-state=failed],[data-state=late])"
    expect(page.locator(ended)).to_have_count(count, timeout=timeout)
    # An upload that failed or was not recorded in time says why, in its own words.
    unrecorded = page.locator("#uploads .upload-item:not([data-state=done])")
    assert unrecorded.count() == 0, unrecorded.all_inner_texts()
    files = f"{count} file{'' if count == 1 else 's'}"
    expect(page.locator("#status")).to_have_text(f"{files} uploaded and recorded.", timeout=timeout)
    settled(page)


def settled(page: Page) -> None:
    """The newest list request has rendered (the table is busy while one is under way)."""
    expect(page.locator("#files-table")).not_to_have_attribute("aria-busy", "true")


def row_of(page: Page, name: str) -> Any:
    return page.locator("#files-body tr").filter(
        has=page.get_by_role("button", name=f"Details of {name}", exact=True)
    )


def lines_of_the_time(page: Page, selector: str) -> int:
    """On how many lines the element's "YYYY-MM-DD HH:MM UTC" is laid out."""
    return int(
        page.locator(selector).evaluate(
            """(element) => {
                const time = /\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2} UTC/.exec(element.textContent)[0];
                const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
                for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                    const at = node.data.indexOf(time);
                    if (at < 0) continue;
                    const range = document.createRange();
                    range.setStart(node, at);
                    range.setEnd(node, at + time.length);
                    return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
                }
                return -1;
            }"""
        )
    )


def assert_fits(page: Page, width: int) -> None:
    """Nothing overflows the viewport sideways."""
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the page is {scroll_width}px wide in a {width}px viewport"


@pytest.mark.parametrize("width", [1280, 375])
def test_staff_upload_list_filter_open_delete(
    browser: Browser, dashboard: LocalMailroom, width: int
) -> None:
    assert dashboard.api is not None
    staff = dashboard.api.staff_address
    page = open_dashboard(browser, dashboard, width)
    # The emails are there, the unauthenticated forward flagged as the CLI flags it.
    expect(page.locator("#files-body")).to_contain_text(EMAIL_SENDER)
    expect(page.locator("#files-body")).to_contain_text("(unverified)")
    assert_fits(page, width)
    screenshot(page, f"{width}-01-signed-in")

    files = {
        f"Retainer agreement {width}.pdf": (
            b"%PDF-1.4\n% retainer " + str(width).encode(),
            "application/pdf",
        ),
        f"notes-{width}.txt": (f"call the client back ({width})\n".encode(), "text/plain"),
    }
    drop_files(page, files)
    items = page.locator("#uploads .upload-item")
    expect(items).to_have_count(2)
    expect(page.locator("#uploads progress")).to_have_count(2)
    uploaded(page, 2)
    expect(page.locator("#uploads")).to_contain_text("Recorded")
    assert_fits(page, width)
    screenshot(page, f"{width}-02-uploaded")

    # Listed with their metadata once recorded: the table refreshed by itself.
    for name, (data, _kind) in files.items():
        row = row_of(page, name)
        expect(row).to_have_count(1)
        expect(row.locator("td.sender")).to_have_text(staff)
        expect(row.locator("td.num")).to_have_text(f"{len(data)} B")
        expect(row.locator("td.source")).to_have_text("Upload")
    row_of(page, next(iter(files))).scroll_into_view_if_needed()
    screenshot(page, f"{width}-03-listed")

    # Filter by sender: only the staff member's uploads remain.
    if not page.is_visible("#filter-sender"):  # narrow: the filters fold under a summary
        page.click("#filters-panel > summary")
    page.fill("#filter-sender", staff)
    page.click("#apply-filters")
    expect(page.locator("#files-body")).not_to_contain_text(EMAIL_SENDER)
    settled(page)
    senders = page.locator("#files-body td.sender")
    assert senders.count() >= 2
    for index in range(senders.count()):
        expect(senders.nth(index)).to_have_text(staff)
    for name in files:
        expect(row_of(page, name)).to_have_count(1)
    assert_fits(page, width)
    page.locator("#apply-filters").scroll_into_view_if_needed()
    screenshot(page, f"{width}-04-filtered")

    # Open one: the page follows a presigned link; its bytes are the uploaded bytes.
    name, (data, _kind) = next(iter(files.items()))
    row = row_of(page, name)
    assert dashboard.endpoint is not None
    emulator = dashboard.endpoint.url + "/"
    answered: list[int] = []
    page.context.on("response", lambda r: r.url.startswith(emulator) and answered.append(r.status))
    with (
        page.expect_response(lambda r: r.url.endswith("/download")) as answer,
        page.context.expect_page() as opened,
    ):
        row.get_by_role("button", name=f"Open {name}").click()
    link = answer.value.json()
    assert 0 < link["expires_in"] <= 300
    # The new tab's navigation (a followed link) passed the emulator's guard.
    for _ in range(100):
        if answered:
            break
        page.wait_for_timeout(100)
    assert answered == [200]
    opened.value.close()
    with urllib.request.urlopen(link["url"], timeout=30) as response:
        assert response.read() == data
        assert name.replace(" ", "%20") in response.headers["Content-Disposition"]

    # Details of that file, then of an email's file: verdicts, authentication, other files.
    page.get_by_role("button", name=f"Details of {name}", exact=True).click()
    expect(page.locator("#details")).to_be_visible()
    expect(page.locator("#details-fields")).to_contain_text(staff)
    expect(page.locator("#message-panel")).to_contain_text("Uploaded through the dashboard")
    page.click("#close-details")
    page.click("#clear-filters")
    expect(page.locator("#files-body")).to_contain_text(EMAIL_SENDER)
    page.get_by_role("button", name=f"Details of {EMAIL_FILE}", exact=True).click()
    expect(page.locator("#message-panel .verdicts")).to_contain_text("dmarc")
    expect(page.locator("#message-panel")).to_contain_text("Yes (")
    expect(page.locator("#message-panel .other-files li")).to_have_count(1)
    assert_fits(page, width)
    screenshot(page, f"{width}-05-details")
    page.click("#close-details")
    expect(page.locator("#details")).to_be_hidden()

    # Delete one, through the confirmation dialog; gone after the refresh, and on the server.
    gone = f"notes-{width}.txt"
    row_of(page, gone).get_by_role("button", name=f"Delete {gone}").click()
    dialog = page.locator("#confirm-delete")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(gone)
    assert lines_of_the_time(page, "#confirm-text") == 1
    screenshot(page, f"{width}-06-confirm-delete")
    page.click("#confirm-ok")
    expect(dialog).to_be_hidden()
    expect(row_of(page, gone)).to_have_count(0)
    expect(row_of(page, name)).to_have_count(1)
    expect(page.locator("#status")).to_contain_text(f"Deleted {gone}")
    settled(page)
    listed = api_get(dashboard, "/files?limit=500")["files"]
    assert gone not in {f["filename"] for f in listed}
    assert name in {f["filename"] for f in listed}
    assert_fits(page, width)
    row_of(page, name).scroll_into_view_if_needed()
    screenshot(page, f"{width}-07-deleted")
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()


def focused(page: Page) -> str:
    """The focused element as `#id`, or its accessible label, or its text."""
    return str(
        page.evaluate(
            """() => {
                const e = document.activeElement;
                if (!e || e === document.body) return "";
                return e.id ? "#" + e.id : (e.getAttribute("aria-label") || e.textContent.trim());
            }"""
        )
    )


def test_keyboard_reaches_every_control(browser: Browser, dashboard: LocalMailroom) -> None:
    page = open_dashboard(browser, dashboard, 1280)
    # Listening from the start: Playwright then intercepts the chooser before it is needed.
    chosen = [{"name": "keyboard.txt", "mimeType": "text/plain", "buffer": b"typed, not dragged\n"}]
    page.on("filechooser", lambda chooser: chooser.set_files(chosen))
    seen: list[str] = []
    outlines: dict[str, str] = {}
    for _ in range(80):
        page.keyboard.press("Tab")
        name = focused(page)
        if seen and name == seen[-1]:
            continue  # a date input takes a Tab per part (month, day, year)
        if name in seen or not name:  # back at the start, or out of the page
            break
        seen.append(name)
        outlines[name] = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    wanted = [
        "#choose-files",
        "#upload-case",
        "#refresh",
        "#filter-sender",
        "#filter-case",
        "#filter-since",
        "#filter-until",
        "#filter-deleted",
        "#apply-filters",
        "#clear-filters",
    ]
    positions = [seen.index(name) for name in wanted]  # ValueError: not reachable
    assert positions == sorted(positions), seen
    first_file = next(name for name in seen if name.startswith("Details of "))
    assert seen.index(first_file) > seen.index("#clear-filters")
    opens = [name for name in seen if name.startswith("Open ")]
    deletes = [name for name in seen if name.startswith("Delete ")]
    assert opens and deletes, seen
    # Focus is visible on every control reached with the keyboard.
    assert {k: v for k, v in outlines.items() if v == "none"} == {}

    # Enter on a file opens its details, focus goes there; Escape closes and returns focus.
    button = page.get_by_role("button", name=first_file, exact=True)
    button.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#details")).to_be_visible()
    assert focused(page) == "#details-heading"
    page.keyboard.press("Escape")
    expect(page.locator("#details")).to_be_hidden()
    assert focused(page) == first_file

    # Space on Delete opens the confirmation on Cancel; Escape cancels: nothing deleted.
    delete = page.get_by_role("button", name=deletes[0], exact=True)
    delete.focus()
    page.keyboard.press("Space")
    expect(page.locator("#confirm-delete")).to_be_visible()
    assert focused(page) == "#confirm-cancel"
    page.keyboard.press("Escape")
    expect(page.locator("#confirm-delete")).to_be_hidden()
    assert focused(page) == deletes[0]
    expect(page.get_by_role("button", name=first_file, exact=True)).to_have_count(1)
    screenshot(page, "1280-08-keyboard")

    # Upload without a mouse: Enter on "Choose files…" opens the system's file chooser.
    page.locator("#choose-files").focus()
    page.keyboard.press("Enter")
    uploaded(page, 1)
    expect(page.get_by_role("button", name="Details of keyboard.txt", exact=True)).to_have_count(1)

    # Screen readers: live regions for status, labelled progress and controls.
    assert page.get_attribute("#status", "aria-live") == "polite"
    assert page.get_attribute("#uploads", "aria-live") == "polite"  # each file's progress
    expect(page.locator("#uploads progress").first).to_have_accessible_name(
        "Upload progress of keyboard.txt"
    )
    assert page.get_attribute("#error", "role") == "alert"
    for control in (
        "#filter-sender",
        "#filter-case",
        "#filter-since",
        "#filter-until",
        "#upload-case",
    ):
        expect(page.locator(control)).to_have_accessible_name(
            page.locator(f"label[for={control[1:]}]").inner_text()
        )
    page.context.close()


def test_filters_by_case_and_date(browser: Browser, dashboard: LocalMailroom) -> None:
    page = open_dashboard(browser, dashboard, 1280)
    # Dates are ISO like the rest of the page, whatever the browser's locale: typed, not picked.
    for control in ("#filter-since", "#filter-until"):
        expect(page.locator(control)).to_have_attribute("type", "text")
        expect(page.locator(control)).to_have_attribute("placeholder", "YYYY-MM-DD")
    page.fill("#filter-since", "12/05/2026")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/files?" in r.url else None)
    page.click("#apply-filters")  # refused by the page itself: nothing is sent
    assert page.locator("#filter-since").evaluate("(e) => e.validity.patternMismatch")
    page.fill("#filter-since", "")
    page.fill("#filter-case", "case-42")
    page.click("#apply-filters")
    expect(page.locator("#files-body td.case")).to_have_text(["case-42", "case-42"])
    expect(page.locator("#filter-count")).to_have_text("(1 active)")
    # The bad date was never sent: the first request the page made is the case filter.
    assert requests and "case=case-42" in requests[0], requests
    assert not any("since=" in url for url in requests), requests
    page.fill("#filter-case", "")
    page.fill("#filter-until", "2000-01-01")  # before anything arrived
    page.click("#apply-filters")
    expect(page.locator("#files-body")).to_have_text("No files match these filters.")
    page.fill("#filter-since", "2000-01-02")  # after --until: the API's 400 message is shown
    page.click("#apply-filters")
    expect(page.locator("#error")).to_contain_text("is after the end")
    page.click("#clear-filters")
    expect(page.locator("#error")).to_be_hidden()
    expect(page.locator("#files-body td.case").first).to_be_visible()
    assert page.locator("#files-body tr").count() > 2
    page.context.close()


def test_refused_upload_shows_the_api_message(browser: Browser, dashboard: LocalMailroom) -> None:
    page = open_dashboard(browser, dashboard, 1280)
    drop_files(page, {"setup.exe": (b"MZ\x90\x00", "application/x-msdownload")})
    failed = page.locator("#uploads .upload-item[data-state=failed]")
    expect(failed).to_have_count(1)
    # The API's own error message, not a status code.
    expect(failed).to_contain_text("'application/x-msdownload' is not a type mailroom accepts")
    assert api_get(dashboard, "/files?limit=500")["files"]  # nothing else disturbed
    assert "setup.exe" not in {
        f["filename"] for f in api_get(dashboard, "/files?limit=500")["files"]
    }
    page.context.close()


def test_paging_with_next_and_previous(browser: Browser, dashboard: LocalMailroom) -> None:
    page = open_dashboard(browser, dashboard, 1280)
    # More files than one page holds (25), dropped at once: uploaded three at a time.
    batch = {f"page-{n:02d}.txt": (f"page {n}\n".encode(), "text/plain") for n in range(26)}
    drop_files(page, batch)
    uploaded(page, 26, timeout=RECORD_WAIT_MS * 4)  # 26 uploads on a loaded machine
    total = len(api_get(dashboard, "/files?limit=500")["files"])
    assert total > 26
    rows = page.locator("#files-body tr")
    expect(rows).to_have_count(25)
    first_page = rows.locator(".name-button").all_inner_texts()
    expect(page.locator("#prev-page")).to_be_disabled()
    # Which files these are; a total only where it is known without counting every file.
    expect(page.locator("#files-summary")).to_have_text("Files 1–25, newest first")
    page.click("#next-page")
    expect(page.locator("#page-number")).to_have_text("Page 2")
    expect(rows).to_have_count(min(25, total - 25))
    expect(page.locator("#files-summary")).to_have_text(
        f"Files 26–{total} of {total}, newest first" if total <= 50 else "Files 26–50, newest first"
    )
    second_page = rows.locator(".name-button").all_inner_texts()
    assert not set(first_page) & set(second_page)
    page.locator("#page-number").scroll_into_view_if_needed()
    screenshot(page, "1280-09-page-2")
    page.click("#prev-page")
    expect(page.locator("#page-number")).to_have_text("Page 1")
    expect(rows.locator(".name-button")).to_have_text(first_page)
    expect(page.locator("#prev-page")).to_be_disabled()
    page.click("#clear-uploads")
    expect(page.locator("#uploads .upload-item")).to_have_count(0)
    page.context.close()


def test_long_names_fit_at_375(browser: Browser, dashboard: LocalMailroom) -> None:
    page = open_dashboard(browser, dashboard, 375)
    name = "Scan_" + "Acte_de_vente_signe_par_les_deux_parties_" * 3 + "2026.pdf"
    drop_files(page, {name: (b"%PDF-1.4\n% long\n", "application/pdf")})
    uploaded(page, 1)
    row = row_of(page, name)
    expect(row).to_have_count(1)
    row.scroll_into_view_if_needed()
    assert_fits(page, 375)
    screenshot(page, "375-08-long-name")
    row.get_by_role("button", name=f"Details of {name}", exact=True).click()
    expect(page.locator("#details-heading")).to_have_text(name)
    assert_fits(page, 375)
    box = page.locator("#details").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
    screenshot(page, "375-09-long-name-details")
    page.context.close()


def test_a_late_listing_never_replaces_a_newer_one(
    browser: Browser, dashboard: LocalMailroom
) -> None:
    """An upload's refresh answered after a filter was applied must not undo the filter."""
    page = open_dashboard(browser, dashboard, 1280)
    held: list[Any] = []

    def hold_unfiltered(route: Any) -> None:
        if "sender=" not in route.request.url and not held:
            held.append(route)  # answered later, by the test
        else:
            route.continue_()

    page.route("**/files?*", hold_unfiltered)
    page.click("#refresh")
    page.fill("#filter-sender", EMAIL_SENDER)
    page.click("#apply-filters")
    senders = page.locator("#files-body td.sender")
    expect(senders).to_have_text([EMAIL_SENDER, EMAIL_SENDER])
    assert len(held) == 1
    with page.expect_response(lambda r: r.request == held[0].request) as late:
        held[0].continue_()
    late.value.finished()
    page.evaluate("() => new Promise((resolve) => setTimeout(resolve, 300))")  # let it land
    expect(senders).to_have_text([EMAIL_SENDER, EMAIL_SENDER])
    page.context.close()


def test_a_stale_local_token_says_what_to_do(browser: Browser, dashboard: LocalMailroom) -> None:
    """After `mailroom local` restarts, a page still holding the old token is told to open
    the new link, and forgets the old token (a reload does not send it again)."""
    assert dashboard.api is not None
    context = browser.new_context()
    page = context.new_page()
    page.goto(dashboard.api.url + "/#token=old")
    expect(page.locator("#error")).to_contain_text("not signed in")
    expect(page.locator("#error")).to_contain_text("Open the dashboard link `mailroom local`")
    assert page.evaluate("() => sessionStorage.getItem('mailroom.local.token')") is None
    page.reload()
    expect(page.locator("#error")).to_contain_text("ends in #token=")
    context.close()


def test_the_local_token_comes_from_the_link_only(
    browser: Browser, dashboard: LocalMailroom
) -> None:
    """config.json has no token: without the link's fragment the page is not signed in; with
    it, the token stays in this tab (a reload keeps the session) and leaves the address bar."""
    assert dashboard.api is not None and dashboard.dashboard_url is not None
    context = browser.new_context()
    page = context.new_page()
    page.goto(dashboard.api.url + "/")
    expect(page.locator("#signed-out")).to_be_visible()
    expect(page.locator("#error")).to_contain_text("ends in #token=")
    page.goto(dashboard.dashboard_url)
    expect(page.locator("#user-name")).to_have_text(dashboard.api.staff_address)
    expect(page).to_have_url(dashboard.api.url + "/")
    assert "#token" not in page.evaluate("() => window.location.href")
    page.reload()
    expect(page.locator("#user-name")).to_have_text(dashboard.api.staff_address)
    expect(page.locator("#files-body tr:not(.empty)").first).to_be_visible(timeout=FIRST_LOAD_MS)
    other_tab = context.new_page()  # sessionStorage is per tab: another tab needs the link
    other_tab.goto(dashboard.api.url + "/")
    expect(other_tab.locator("#signed-out")).to_be_visible()
    context.close()


def open_as(browser: Browser, stack: LocalMailroom, width: int, role: str) -> Page:
    """The dashboard signed in with a token of `role` (issued by the local API, which passes
    its `cognito:groups` on as the JWT authorizer does)."""
    assert stack.api is not None
    context = browser.new_context(viewport={"width": width, "height": HEIGHTS[width]})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    # As `mailroom local --role ROLE` prints it: the token in the link's fragment.
    page.goto(f"{stack.api.url}/#token={stack.api.issue_token(role)}")
    expect(page.locator("#user-name")).to_have_text(stack.api.staff_address)
    # The first listing may wait for the api function's cold start.
    expect(page.locator("#files-body tr:not(.empty)").first).to_be_visible(timeout=30_000)
    return page


@pytest.mark.parametrize("width", [1280, 375])
def test_a_reader_sees_no_upload_and_no_delete(
    browser: Browser, dashboard: LocalMailroom, width: int
) -> None:
    page = open_as(browser, dashboard, width, "reader")
    expect(page.locator("#user-role")).to_have_text("reader")
    expect(page.locator("#user-role")).to_be_visible()
    expect(page.locator("#upload-section")).to_be_hidden()
    expect(page.locator("#drop-zone")).to_be_hidden()
    expect(page.locator("#quarantine-section")).to_be_hidden()  # issue 22: admins only
    rows = page.locator("#files-body tr:not(.empty)")
    assert rows.count() >= 2
    expect(page.locator("#files-body").get_by_role("button", name="Open")).not_to_have_count(0)
    expect(page.locator("#files-body button", has_text="Delete")).to_have_count(0)
    assert_fits(page, width)
    screenshot(page, f"{width}-10-reader")

    # Any file's details (other tests add and delete files on this stack)
    rows.first.locator("button.name-button").click()
    expect(page.locator("#details-download")).to_be_visible()
    expect(page.locator("#details-delete")).to_be_hidden()
    screenshot(page, f"{width}-11-reader-details")
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()


def test_an_uploader_may_upload_but_sees_no_delete(
    browser: Browser, dashboard: LocalMailroom
) -> None:
    page = open_as(browser, dashboard, 1280, "uploader")
    expect(page.locator("#user-role")).to_have_text("uploader")
    expect(page.locator("#upload-section")).to_be_visible()
    expect(page.locator("#files-body button", has_text="Delete")).to_have_count(0)
    expect(page.locator("#quarantine-section")).to_be_hidden()  # issue 22: admins only
    screenshot(page, "1280-12-uploader")
    page.context.close()


# The same sizes the CLI's tests pin (tests/cli/test_render.py), halves and unit changes included.
SIZES = [0, 999, 1000, 1049, 1050, 1250, 99_949, 99_950, 123_456, 140_000, 999_499, 999_500]
SIZES += [40_000_000, 10**12 - 1, 5 * 10**15]


def test_sizes_read_as_the_cli_prints_them(browser: Browser, dashboard: LocalMailroom) -> None:
    page = open_dashboard(browser, dashboard, 1280)
    shown = page.evaluate(
        """async (sizes) => {
            const format = await import(new URL("js/format.js", document.baseURI).href);
            return sizes.map(format.formatSize);
        }""",
        SIZES,
    )
    assert shown == [human_size(n) for n in SIZES]
    assert shown[SIZES.index(140_000)] == "140 kB"  # not "137 KB" beside the CLI's "140 kB"
    page.context.close()


def test_a_file_without_any_sender_says_unknown_sender(
    browser: Browser, dashboard: LocalMailroom
) -> None:
    """No From and no envelope sender (an imported message with no From, say): the row says
    so instead of showing a bare "(unverified)" badge."""
    catalog = dashboard.catalog()
    model = next(iter(catalog.files_newest_first(Bounds())))
    catalog.put_file(
        dataclasses.replace(
            model,
            file_id="incoming/imp-nosender/01-anonymous.pdf",
            message_id="imp-nosender",
            filename="anonymous.pdf",
            safe_name="01-anonymous.pdf",
            received_at="2099-01-01T00:00:00.000Z",  # the newest: on the first page
            sender=None,
            sender_name=None,
            original_sender=None,
            original_sender_via=None,
            authenticated=False,
            source="import",
        )
    )

    page = open_dashboard(browser, dashboard, 1280)
    row = row_of(page, "anonymous.pdf")
    expect(row.locator("td.sender")).to_have_text("unknown sender")
    row.scroll_into_view_if_needed()
    screenshot(page, "1280-10-unknown-sender")
    page.context.close()


def send_needing_filing(stack: LocalMailroom, filename: str) -> str:
    """A message whose subject names two cases (the routing rules disagree: it needs filing),
    over SMTP as `send` does; its SES message id."""
    mail = EmailMessage()
    mail["From"] = "Client <client@client-mail.example>"
    mail["To"] = SUBMIT
    mail["Subject"] = "Scans [case-1] Ref: 2"
    mail["Message-ID"] = f"<{filename}@client-mail.example>"
    mail.set_content("Two case numbers in one subject.\n")
    mail.add_attachment(b"%PDF-1.4 to file\n", "application", "pdf", filename=filename)
    assert stack.frontdoor is not None
    with smtplib.SMTP(stack.frontdoor.host, stack.frontdoor.port, timeout=30) as smtp:
        smtp.ehlo("client.test")
        smtp.mail("client@client-mail.example")
        code, reply = smtp.rcpt(SUBMIT)
        assert code == 250, reply
        code, reply = smtp.data(mail.as_bytes(policy=SMTP_POLICY))
        assert code == 250, reply
    return reply.decode().split()[-1]


def wait_for_file(stack: LocalMailroom, message_id: str, timeout_s: float = 60) -> str:
    """The file id of the message's one file, once its record is there."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        files = api_get(stack, f"/messages/{message_id}")["files"]
        if files:
            return str(files[0]["file_id"])
        time.sleep(0.2)
    raise AssertionError(f"no file record for {message_id} after {timeout_s} s")


def send_held(stack: LocalMailroom, filename: str, virus: str) -> str:
    """A message the stack's strict virus policy holds (the SMTP door's verdicts header)."""
    mail = EmailMessage()
    mail["From"] = "Client <client@client-mail.example>"
    mail["To"] = SUBMIT
    mail["Subject"] = f"Held {filename}"
    mail["X-Mailroom-Local-Verdicts"] = f"virus={virus}"
    mail.set_content("Held by the virus policy.\n")
    mail.add_attachment(b"%PDF-1.4 held\n", "application", "pdf", filename=filename)
    assert stack.frontdoor is not None
    with smtplib.SMTP(stack.frontdoor.host, stack.frontdoor.port, timeout=30) as smtp:
        smtp.ehlo("client.test")
        smtp.mail("client@client-mail.example")
        code, reply = smtp.rcpt(SUBMIT)
        assert code == 250, reply
        code, reply = smtp.data(mail.as_bytes(policy=SMTP_POLICY))
        assert code == 250, reply
    return reply.decode().split()[-1]


def release_from_the_quarantine(page: Page, stack: LocalMailroom, width: int) -> None:
    """Issue 22, as an admin: a held message is listed with why and its verdicts; a virus FAIL
    offers the extra checkbox; a release needs a reason; the released file is then listed."""
    name = f"held-{width}.pdf"
    failed = f"infected-{width}.pdf"
    ids = [send_held(stack, name, "GRAY"), send_held(stack, failed, "FAIL")]
    stack.wait_for_messages(ids, timeout=60)
    section = page.locator("#quarantine-section")
    section.get_by_role("button", name="Refresh the quarantine").click()
    item = section.locator("li.quarantine-item", has_text=f"Held {name}")
    expect(item).to_contain_text("virus verdict GRAY (strict)")
    expect(item.locator(".verdict", has_text="virus GRAY")).to_be_visible()
    held_virus = section.locator("li.quarantine-item", has_text=f"Held {failed}")
    expect(held_virus.locator(".verdict-fail", has_text="virus FAIL")).to_be_visible()
    item.scroll_into_view_if_needed()
    assert_fits(page, width)
    screenshot(page, f"{width}-15-quarantine")

    held_virus.get_by_role("button", name="Release").click()
    expect(page.locator("#release-virus-field")).to_be_visible()
    page.locator("#release-cancel").click()
    expect(page.locator("#confirm-release")).to_be_hidden()

    item.get_by_role("button", name="Release").click()
    dialog = page.locator("#confirm-release")
    expect(dialog).to_be_visible()
    expect(page.locator("#release-virus-field")).to_be_hidden()
    dialog.get_by_role("button", name="Release").click()
    expect(page.locator("#release-error")).to_have_text("Say why the message is released.")
    dialog.get_by_label("Why is it released?").fill("Checked with the client by phone")
    screenshot(page, f"{width}-16-release-dialog")
    dialog.get_by_role("button", name="Release").click()
    expect(page.locator("#status")).to_have_text(
        f"Released Held {name}: its files are in the list.", timeout=60_000
    )
    expect(item).to_have_count(0)
    expect(row_of(page, name)).to_be_visible()
    view = api_get(stack, f"/messages/{ids[0]}")
    assert view["message"]["outcome"] == "released"
    assert view["message"]["released_by"] == stack.api.staff_address  # type: ignore[union-attr]
    assert [f["release_reason"] for f in view["files"]] == ["Checked with the client by phone"]
    assert api_get(stack, f"/messages/{ids[1]}")["message"]["outcome"] == "quarantined"
    row_of(page, name).get_by_role("button", name=f"Details of {name}", exact=True).click()
    released = page.locator("#details-fields dd", has_text="Checked with the client by phone")
    expect(released).to_contain_text(f"by {stack.api.staff_address} at ")  # type: ignore[union-attr]
    assert_fits(page, width)
    screenshot(page, f"{width}-17-released")
    page.locator("#close-details").click()


@pytest.mark.parametrize("width", [1280, 375])
def test_a_message_that_needs_filing_is_filed_from_its_details(
    browser: Browser, dashboard: LocalMailroom, width: int
) -> None:
    name = f"to-file-{width}.pdf"
    message_id = send_needing_filing(dashboard, name)
    dashboard.wait_for_messages([message_id], timeout=60)
    file_id = wait_for_file(dashboard, message_id)

    page = open_dashboard(browser, dashboard, width)
    row = row_of(page, name)
    row.get_by_role("button", name=f"Details of {name}", exact=True).click()
    panel = page.locator("#message-panel")
    expect(panel.locator("dd", has_text="Needs filing")).to_be_visible()
    form = panel.locator("form.filing")
    expect(form.get_by_role("button", name="File it")).to_be_visible()
    form.scroll_into_view_if_needed()
    assert_fits(page, width)
    screenshot(page, f"{width}-13-needs-filing")

    # A case id the API refuses: its message, and nothing filed.
    form.get_by_label("Case").fill("not a case!")
    form.get_by_role("button", name="File it").click()
    expect(form.get_by_role("status")).to_contain_text("is not a case id")
    assert api_get(dashboard, f"/messages/{message_id}")["message"]["needs_filing"] is True

    form.get_by_label("Case").fill(" Case-7 ")
    form.get_by_role("button", name="File it").click()
    expect(page.locator("#status")).to_have_text("Filed the message and 1 file under case-7.")
    expect(panel.locator("dd", has_text="Needs filing")).to_have_count(0)
    expect(panel.locator("dd", has_text=f"by {dashboard.api.staff_address}")).to_be_visible()  # type: ignore[union-attr]
    expect(page.locator("#details-fields dd", has_text="case-7")).to_be_visible()
    expect(row_of(page, name).locator("td.case")).to_have_text("case-7")
    refile = panel.locator("form.filing")
    expect(refile.get_by_role("button", name="Re-file")).to_be_visible()
    # Said beside the form too: on a phone the details cover the page's status line.
    expect(refile.get_by_role("status")).to_have_text("Filed the message and 1 file under case-7.")
    refile.scroll_into_view_if_needed()
    assert_fits(page, width)
    screenshot(page, f"{width}-14-filed")
    page.locator("#close-details").click()
    release_from_the_quarantine(page, dashboard, width)  # issue 22, the same admin
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()

    view = api_get(dashboard, f"/messages/{message_id}")
    assert (view["message"]["case"], view["message"]["needs_filing"]) == ("case-7", False)
    assert view["message"]["filed_by"] == dashboard.api.staff_address  # type: ignore[union-attr]
    assert [(f["file_id"], f["case"]) for f in view["files"]] == [(file_id, "case-7")]
    waiting = api_get(dashboard, "/messages?needs_filing=true")["messages"]
    assert message_id not in {m["message_id"] for m in waiting}
