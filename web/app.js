// The staff dashboard: files received, details, upload, download and delete over the HTTP API.
// Every value from the API is written with textContent (never as HTML): file names and
// senders come from outside the firm.

import { Api, ApiError, postToS3 } from "./js/api.js";
import { SignInError, beginSignIn, currentSession, forgetSession, jwtClaims, signOut } from "./js/auth.js";
import { can, roleOf } from "./js/roles.js";
import {
  contentTypeOf,
  formatSize,
  formatTime,
  pageSummary,
  sourceLabel,
  senderLabel,
  trust,
} from "./js/format.js";

const PAGE_SIZE = 25;
const PARALLEL_UPLOADS = 3;
// Waiting for record_metadata: polls with a growing pause, about a minute in all.
const RECORD_POLLS = 60; // with pauses up to 3 s: about three minutes, for a loaded stack
const RECORD_FIRST_PAUSE_MS = 300;
const RECORD_MAX_PAUSE_MS = 3000;

const $ = (id) => document.getElementById(id);

const state = {
  config: null,
  api: null,
  role: null, // "reader", "uploader" or "admin" (web/js/roles.js)
  filters: {},
  cursor: null, // the cursor of the page shown (null: the first)
  previous: [], // the cursors of the pages before it
  first: 0, // how many files the pages before this one showed
  firsts: [], // `first` of each page before it
  next: null,
  files: [],
  selected: null, // the record in the details panel
  returnFocus: null,
  loads: 0, // list requests started; a response renders only if it is the newest
};

// -- small DOM helpers --

function el(tag, options = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name === "className") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function say(text) {
  // Re-set so that the same words are announced again.
  $("status").textContent = "";
  window.setTimeout(() => {
    $("status").textContent = text;
  }, 30);
}

function showError(error) {
  let text = error instanceof Error ? error.message : String(error);
  if (error instanceof ApiError && error.status === 401 && state.config?.auth?.mode === "local") {
    text += " Open the dashboard link `mailroom local` printed: it makes a new token each time it starts.";
    forgetSession(); // a stale token: a reload must not send it again
  }
  $("error-text").textContent = text;
  $("error").hidden = false;
  if (error instanceof ApiError && error.status === 401) sessionExpired();
}

function clearError() {
  $("error").hidden = true;
  $("error-text").textContent = "";
}

// -- sign-in --

async function start() {
  wireEvents();
  try {
    const response = await fetch("./config.json", { cache: "no-store" });
    if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
    state.config = await response.json();
  } catch (error) {
    showError(`The dashboard is not configured (${error.message}).`);
    return;
  }
  let session = null;
  try {
    session = await currentSession(state.config);
  } catch (error) {
    // A refused or unreachable token endpoint is a failed sign-in too: say so, offer a retry.
    showError(error instanceof SignInError ? error : `Sign-in failed: ${error.message}`);
  }
  if (!session) {
    showSignIn();
    return;
  }
  state.api = new Api(state.config.apiUrl, session.token);
  $("user-name").textContent = session.user;
  // What the role may not do is not offered (the API refuses it anyway).
  state.role = roleOf(jwtClaims(session.token));
  $("user-role").textContent = state.role || "no role";
  $("user-role").hidden = false;
  $("upload-section").hidden = !can(state.role, "upload");
  $("quarantine-section").hidden = !can(state.role, "release"); // issue 22: admins only
  $("account").hidden = false;
  $("mode-badge").hidden = session.mode !== "local";
  $("sign-out").hidden = session.mode === "local";
  $("signed-out").hidden = true;
  $("app").hidden = false;
  await loadFiles();
  if (can(state.role, "release")) await loadQuarantine();
}

function showSignIn(text) {
  $("app").hidden = true;
  $("account").hidden = true;
  $("signed-out").hidden = false;
  if (text) $("sign-in-text").textContent = text;
  $("sign-in").hidden = !(state.config && state.config.auth && state.config.auth.mode === "cognito");
}

function sessionExpired() {
  if (!state.config || state.config.auth.mode !== "cognito") return;
  forgetSession();
  showSignIn("Your session has ended. Sign in again to continue.");
}

// -- the list --

function readFilters() {
  const form = $("filters");
  const data = new FormData(form);
  const filters = {};
  for (const name of ["sender", "case", "since", "until"]) {
    const value = String(data.get(name) || "").trim();
    if (value) filters[name] = value;
  }
  if (data.get("include_deleted")) filters.include_deleted = "true";
  if (data.get("include_claimed") && filters.sender) filters.include_claimed = "true";
  // Inline images, signature logos, tracking pixels and kept bodies are set aside, not lost.
  if (data.get("all")) filters.all = "true";
  return filters;
}

async function loadFiles({ keepSelection = true } = {}) {
  const body = $("files-body");
  const table = $("files-table");
  table.setAttribute("aria-busy", "true");
  // Loads overlap (an upload finishing while a filter is applied): only the newest may render.
  state.loads += 1;
  const load = state.loads;
  try {
    const page = await state.api.listFiles({ ...state.filters, limit: PAGE_SIZE }, state.cursor);
    if (load !== state.loads) return;
    state.files = page.files || [];
    state.next = page.next || null;
    renderFiles();
    if (keepSelection && state.selected) {
      const fresh = state.files.find((f) => f.file_id === state.selected.file_id);
      if (fresh) state.selected = fresh;
    }
  } catch (error) {
    if (load !== state.loads) return;
    body.replaceChildren(emptyRow("The files could not be loaded."));
    showError(error);
  } finally {
    if (load === state.loads) table.removeAttribute("aria-busy");
  }
}

function emptyRow(text) {
  return el("tr", { className: "empty" }, el("td", { colspan: "7", text }));
}

function renderFiles() {
  const body = $("files-body");
  if (!state.files.length) {
    const filtered = Object.keys(state.filters).length > 0;
    body.replaceChildren(emptyRow(filtered ? "No files match these filters." : "No files yet."));
  } else {
    body.replaceChildren(...state.files.map(fileRow));
  }
  const active = Object.keys(state.filters).length;
  $("filter-count").textContent = active ? `(${active} active)` : "";
  const page = state.previous.length + 1;
  $("files-summary").textContent = pageSummary(state.first, state.files.length, Boolean(state.next));
  $("page-number").textContent = page > 1 || state.next ? `Page ${page}` : "";
  $("prev-page").disabled = state.previous.length === 0;
  $("next-page").disabled = !state.next;
}

/** An address as text with a line-break opportunity after each "@" and ".", so a narrow column
 * wraps it as the CLI does (`ceo@` / `client.example`), never in the middle of a word. */
function breakableAddress(text) {
  const parts = [];
  for (const piece of text.split(/(?<=[@.])/)) {
    if (parts.length) parts.push(document.createElement("wbr"));
    parts.push(piece);
  }
  return parts;
}

function senderCell(record) {
  const cell = el("td", { "data-label": "Sender", className: "sender" });
  // One child per cell: the narrow layout lays a cell out as label | value.
  const label = senderLabel(record);
  if (!label) {
    // No From and no envelope sender: nothing to verify, so no "(unverified)" badge either.
    cell.append(el("span", { className: "sender-unknown", text: "unknown sender" }));
    return cell;
  }
  const value = el("span", {}, el("span", { className: "sender-address" }, ...breakableAddress(label)));
  cell.append(value);
  if (record.authenticated === false) {
    value.append(
      " ",
      el("span", {
        className: "tag tag-warn",
        text: "(unverified)",
        title: "The sender's domain did not vouch for this message (SPF/DKIM/DMARC).",
      }),
    );
  }
  const level = originalLevel(record);
  if (level === "claimed") {
    value.append(
      " ",
      el("span", {
        className: "tag tag-warn",
        text: "(claimed)",
        title: "The original sender behind this forward is only claimed: not verified by its own DKIM signature, nor vouched for by a trusted forwarder.",
      }),
    );
  } else if (level) {
    value.append(" ", el("span", { className: "tag", text: `(${level})`, title: LEVELS[level] || level }));
  }
  return cell;
}

const LEVELS = {
  verified: "Verified: the forwarded message's own DKIM signature holds for its From.",
  vouched: "Vouched: forwarded by an authenticated trusted forwarder.",
  claimed: "Claimed: not verified; found by sender only with 'Include claimed senders'.",
};

/** The original sender's trust level; a record from before levels has none: claimed. */
function originalLevel(record) {
  if (!record.original_sender) return "";
  return record.original_sender_level || "claimed";
}

/** A cell with one child: the narrow layout shows its data-label beside it. */
function textCell(label, className, text) {
  return el("td", { "data-label": label, className }, el("span", { text }));
}

function fileRow(record) {
  const row = el("tr", { "data-file-id": record.file_id });
  if (record.deleted) row.classList.add("deleted");
  if (state.selected && state.selected.file_id === record.file_id) row.classList.add("selected");
  const nameButton = el("button", {
    type: "button",
    className: "link name-button",
    text: record.filename || record.safe_name,
    "aria-label": `Details of ${record.filename || record.safe_name}`,
    onclick: () => selectFile(record, nameButton),
  });
  const actions = el("td", { className: "actions", "data-label": "Actions" });
  if (!record.deleted) {
    actions.append(
      el("button", {
        type: "button",
        className: "button button-small",
        text: "Open",
        "aria-label": `Open ${record.filename}`,
        onclick: () => openFile(record),
      }),
    );
  }
  if (!record.deleted && can(state.role, "delete")) {
    actions.append(
      el("button", {
        type: "button",
        className: "button button-small button-danger-quiet",
        text: "Delete",
        "aria-label": `Delete ${record.filename}`,
        onclick: (event) => confirmDelete(record, event.currentTarget),
      }),
    );
  }
  row.append(
    textCell("Received", "time", formatTime(record.received_at, { zone: false })),
    el("td", { "data-label": "Name", className: "name" }, nameButton),
    senderCell(record),
    textCell("Case", "case", record.case || "—"),
    textCell("Size", "num", formatSize(record.size)),
    textCell("Source", "source", sourceLabel(record)),
    actions,
  );
  // A click anywhere on the row opens its details; the buttons in it keep their own action.
  row.addEventListener("click", (event) => {
    if (event.target.closest("button, a")) return;
    selectFile(record, nameButton);
  });
  return row;
}

// -- details --

function field(list, label, value, className) {
  if (value === undefined || value === null || value === "") return;
  list.append(el("dt", { text: label }), el("dd", { text: String(value), className }));
}

async function selectFile(record, origin) {
  state.selected = record;
  state.returnFocus = origin || null;
  for (const row of $("files-body").querySelectorAll("tr")) {
    row.classList.toggle("selected", row.dataset.fileId === record.file_id);
  }
  renderDetails(record);
  const panel = $("details");
  panel.hidden = false;
  document.body.classList.add("details-open");
  $("details-heading").focus();
  panel.scrollIntoView({ block: "nearest" });
  await renderMessage(record);
}

function renderDetails(record) {
  $("details-heading").textContent = record.filename || record.safe_name;
  const list = $("details-fields");
  list.replaceChildren();
  field(list, "Received", formatTime(record.received_at, { seconds: true }));
  let sender = record.sender || "";
  if (record.sender_name) sender = `${record.sender_name} <${sender}>`;
  if (record.sender_named_by && sender) sender += ` (named by ${record.sender_named_by}, not authenticated)`;
  field(list, "Sender", sender);
  if (record.uploaded_by) field(list, "Uploaded by", record.uploaded_by);
  field(list, "Authenticated", trust(record));
  if (record.original_sender) {
    const via = record.original_sender_via ? ` (${record.original_sender_via})` : "";
    field(list, "Original sender", `${record.original_sender}${via}`);
    field(list, "Sender trust", LEVELS[originalLevel(record)] || originalLevel(record));
  }
  field(list, "Case", record.case);
  field(list, "Size", `${formatSize(record.size)} (${record.size} bytes)`);
  const declared = record.content_type || "";
  const detected = record.detected_type || "";
  field(list, "Type", detected && detected !== declared ? `${declared} (looks like ${detected})` : declared);
  if (record.role && (record.role !== "document" || record.role_reason)) {
    field(list, "Role", record.role_reason ? `${record.role} (${record.role_reason})` : record.role);
  }
  if (record.width && record.height) field(list, "Image", `${record.width}×${record.height}`);
  if (record.parent_index !== null && record.parent_index !== undefined) {
    field(list, "In container", `file ${String(record.parent_index).padStart(2, "0")} of this message`);
  }
  field(list, "Source", sourceLabel(record));
  if (record.suspected_spam) field(list, "Spam", "Suspected (spam verdict FAIL)");
  if (record.deleted) field(list, "Deleted", `by ${record.deleted_by} at ${formatTime(record.deleted_at)}`);
  if (record.released_by) {
    // Issue 22: delivered from the quarantine by an admin's release.
    const why = record.release_reason ? `: ${record.release_reason}` : "";
    field(list, "Released", `by ${record.released_by} at ${formatTime(record.released_at)}${why}`);
  }
  field(list, "SHA-256", record.sha256, "mono");
  field(list, "File id", record.file_id, "mono");
  field(list, "Message id", record.message_id, "mono");
  $("details-download").hidden = Boolean(record.deleted);
  $("details-delete").hidden = Boolean(record.deleted) || !can(state.role, "delete");
}

// Issue 21: where the message is filed, and a way to file it.
function filingFields(list, message) {
  const reason = message.filing_reason ? ` (${message.filing_reason})` : "";
  field(list, "Case", message.needs_filing ? `Needs filing${reason}` : message.case || "none");
  if (message.labels && message.labels.length) field(list, "Labels", message.labels.join(", "));
  if (message.filed_by) field(list, "Filed", `by ${message.filed_by} at ${formatTime(message.filed_at)}`);
  field(list, "Receipt", message.receipt || "none recorded");
}

/** A form to file the message (and its files) under a case: the API records who and when. */
function filingForm(message) {
  const verb = message.needs_filing || !message.case ? "File it" : "Re-file";
  const input = el("input", {
    type: "text",
    id: "file-case",
    name: "case",
    value: message.case || "",
    placeholder: "case-42",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
  });
  const status = el("span", { className: "muted filing-status", role: "status" });
  const button = el("button", { type: "submit", className: "button", text: verb });
  const form = el(
    "form",
    { className: "filing", "aria-label": "Filing" },
    el("label", { for: "file-case", text: "Case" }),
    input,
    button,
    status,
  );
  form.addEventListener("submit", async (submitted) => {
    submitted.preventDefault();
    button.disabled = true;
    status.textContent = "Filing…";
    try {
      const done = await state.api.fileMessage(message.message_id, input.value.trim());
      const count = (done.files || []).length;
      const text = `Filed the message and ${count} file${count === 1 ? "" : "s"} under ${done.message.case}.`;
      say(text);
      await refreshAfterFiling(message.message_id, done);
      // Said again beside the form: on a phone the details cover the page's status line.
      const shown = $("message-panel").querySelector(".filing-status");
      if (shown) shown.textContent = text;
    } catch (error) {
      status.textContent = error.message;
      button.disabled = false;
    }
  });
  return form;
}

/** The list, the selected file's details and its message, as they now are. */
async function refreshAfterFiling(messageId, done) {
  const selected = state.selected;
  await loadFiles();
  if (!state.selected || state.selected.message_id !== messageId) return;
  if (state.selected === selected) {
    // Not on this page of the list (a filter, another page): take the case from the answer.
    const fresh = (done.files || []).find((f) => f.file_id === selected.file_id);
    if (fresh) state.selected = { ...selected, case: fresh.case };
  }
  for (const row of $("files-body").querySelectorAll("tr")) {
    row.classList.toggle("selected", row.dataset.fileId === state.selected.file_id);
  }
  renderDetails(state.selected);
  await renderMessage(state.selected);
}

async function renderMessage(record) {
  const panel = $("message-panel");
  panel.replaceChildren(el("p", { className: "muted", text: "Loading the message…" }));
  let view;
  try {
    view = await state.api.getMessage(record.message_id);
  } catch (error) {
    panel.replaceChildren(el("p", { className: "muted", text: `The message could not be loaded: ${error.message}` }));
    return;
  }
  if (state.selected !== record) return; // another file was chosen meanwhile
  const parts = [];
  const message = view.message;
  if (message) {
    const list = el("dl", { className: "fields" });
    field(list, "Subject", message.subject);
    if (message.excerpt) field(list, "Excerpt", message.excerpt);
    // Shown as text, never fetched or linked: staff decide whether to open them.
    if (message.links && message.links.length) field(list, "Links", message.links.join(" "), "mono");
    field(list, "From", message.from_name ? `${message.from_name} <${message.from_address}>` : message.from_address);
    field(list, "Outcome", message.outcome);
    field(list, "Authenticated", trust(message));
    field(list, "Attachments", message.attachment_count);
    if (message.reason) field(list, "Reason", message.reason);
    filingFields(list, message); // issue 21: case, labels, needs filing, receipt
    parts.push(list);
    if (can(state.role, "file")) parts.push(filingForm(message)); // uploaders and admins
    const verdicts = Object.entries(message.verdicts || {});
    if (verdicts.length) {
      const table = el(
        "table",
        { className: "verdicts" },
        el("caption", { text: "Verdicts" }),
        el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Check" }), el("th", { scope: "col", text: "Result" }))),
        el(
          "tbody",
          {},
          ...verdicts.map(([name, value]) =>
            el(
              "tr",
              {},
              el("th", { scope: "row", text: name }),
              el("td", {}, el("span", { className: `verdict verdict-${String(value).toLowerCase()}`, text: value })),
            ),
          ),
        ),
      );
      parts.push(table);
    }
  } else {
    parts.push(el("p", { className: "muted", text: "Uploaded through the dashboard: there is no email message." }));
  }
  const others = (view.files || []).filter((f) => f.file_id !== record.file_id);
  if (message || others.length) {
    parts.push(el("h4", { text: others.length ? "Other files of this message" : "No other files in this message" }));
  }
  if (others.length) {
    const list = el("ul", { className: "other-files" });
    for (const other of others) {
      const details = el("button", {
        type: "button",
        className: "link",
        text: other.filename || other.safe_name,
        "aria-label": `Details of ${other.filename}`,
        onclick: () => selectFile(other, details),
      });
      const item = el("li", {}, details, el("span", { className: "muted", text: ` ${formatSize(other.size)}` }));
      if (!other.deleted) {
        item.append(
          " ",
          el("button", {
            type: "button",
            className: "button button-small",
            text: "Open",
            "aria-label": `Open ${other.filename}`,
            onclick: () => openFile(other),
          }),
        );
      }
      list.append(item);
    }
    parts.push(list);
  }
  if (view.held && view.held.length) {
    parts.push(el("p", { className: "muted", text: `${view.held.length} file(s) held in quarantine (never served).` }));
  }
  panel.replaceChildren(...parts);
}

function closeDetails() {
  $("details").hidden = true;
  document.body.classList.remove("details-open");
  state.selected = null;
  for (const row of $("files-body").querySelectorAll("tr.selected")) row.classList.remove("selected");
  if (state.returnFocus && state.returnFocus.isConnected) state.returnFocus.focus();
  else $("files-heading").focus();
}

// -- open, delete --

async function openFile(record) {
  clearError();
  try {
    const link = await state.api.downloadLink(record.file_id);
    // The link is short-lived (expires_in) and carries Content-Disposition with the original
    // name, so following it saves or opens the file; it is never kept.
    const anchor = el("a", { href: link.url, rel: "noopener", target: "_blank" });
    document.body.append(anchor);
    anchor.click();
    anchor.remove();
    say(`Opening ${record.filename}.`);
  } catch (error) {
    showError(error);
  }
}

function confirmDelete(record, origin) {
  const dialog = $("confirm-delete");
  $("confirm-title").textContent = `Delete ${record.filename}?`;
  // The time is kept on one line: "2026-11-29 21:50 UTC" broken after the date misreads.
  $("confirm-text").replaceChildren(
    `${record.filename} from ${senderLabel(record) || "unknown sender"}, received `,
    el("span", { className: "nowrap", text: formatTime(record.received_at) }),
    ".",
  );
  dialog.returnValue = "";
  dialog.addEventListener(
    "close",
    async () => {
      if (origin && origin.isConnected) origin.focus();
      if (dialog.returnValue !== "delete") return;
      await deleteFile(record);
    },
    { once: true },
  );
  dialog.showModal();
  $("confirm-cancel").focus();
}

async function deleteFile(record) {
  clearError();
  try {
    await state.api.deleteFile(record.file_id);
    say(`Deleted ${record.filename}.`);
    if (state.selected && state.selected.file_id === record.file_id) closeDetails();
  } catch (error) {
    showError(error);
  }
  await loadFiles();
  if (!$("files-body").contains(document.activeElement)) $("files-heading").focus();
}

// -- quarantine (issue 22, admins): held messages, and their release --

const VERDICT_NAMES = ["spam", "virus", "spf", "dkim", "dmarc"];
// After a release, the extract function delivers the files in seconds: look again a few times.
const RELEASE_POLLS = 40;
const RELEASE_PAUSE_MS = 750;

async function loadQuarantine() {
  try {
    const page = await state.api.listQuarantine();
    renderQuarantine(page.messages || []);
    return page.messages || [];
  } catch (error) {
    showError(error);
    return null;
  }
}

function renderQuarantine(messages) {
  const list = $("quarantine-list");
  if (!messages.length) {
    list.replaceChildren(el("li", { className: "empty muted", text: "No message is held." }));
    return;
  }
  list.replaceChildren(...messages.map(quarantineItem));
}

function quarantineItem(message) {
  const sender = message.from_address || message.envelope_sender || "unknown sender";
  const subject = message.subject || "(no subject)";
  const verdicts = el("span", { className: "verdicts" });
  for (const name of VERDICT_NAMES) {
    const value = (message.verdicts || {})[name] || "GRAY";
    verdicts.append(el("span", { className: `verdict verdict-${value.toLowerCase()}`, text: `${name} ${value}` }));
  }
  const files = message.file_count || 0;
  return el(
    "li",
    { className: "quarantine-item" },
    el(
      "div",
      { className: "quarantine-main" },
      el("span", { className: "quarantine-subject", text: subject }),
      el("span", { className: "muted breakable", text: `from ${sender}` }),
      el("span", { className: "muted nowrap", text: `${formatTime(message.received_at)} · ${files} file${files === 1 ? "" : "s"}` }),
      el("span", { className: "quarantine-reason", text: `Held: ${message.reason || "by policy"}` }),
      verdicts,
    ),
    el("button", {
      type: "button",
      className: "button",
      text: "Release…",
      "aria-label": `Release ${subject} from ${sender}`,
      onclick: (event) => confirmRelease(message, event.currentTarget),
    }),
  );
}

function confirmRelease(message, origin) {
  const dialog = $("confirm-release");
  const virusFailed = ((message.verdicts || {}).virus || "").toUpperCase() === "FAIL";
  $("release-title").textContent = `Release ${message.subject || "this message"}?`;
  $("release-text").textContent =
    `From ${message.from_address || "unknown sender"}, held: ${message.reason || "by policy"}.`;
  $("release-reason").value = "";
  $("release-allow-virus").checked = false;
  $("release-virus-field").hidden = !virusFailed;
  $("release-error").textContent = "";
  $("release-reason").oninput = () => {
    $("release-error").textContent = "";
  };
  $("release-ok").disabled = false;
  const form = $("release-form");
  const submit = async (event) => {
    event.preventDefault();
    const reason = $("release-reason").value.trim();
    if (!reason) {
      $("release-error").textContent = "Say why the message is released.";
      $("release-reason").focus();
      return;
    }
    $("release-ok").disabled = true;
    $("release-error").textContent = "Releasing…";
    try {
      await state.api.releaseMessage(message.message_id, reason, $("release-allow-virus").checked);
    } catch (error) {
      $("release-error").textContent = error.message;
      $("release-ok").disabled = false;
      return;
    }
    dialog.close("released");
  };
  const cancel = () => dialog.close("cancel");
  form.addEventListener("submit", submit);
  $("release-cancel").addEventListener("click", cancel);
  dialog.addEventListener(
    "close",
    async () => {
      form.removeEventListener("submit", submit);
      $("release-cancel").removeEventListener("click", cancel);
      if (origin && origin.isConnected) origin.focus();
      if (dialog.returnValue === "released") await afterRelease(message);
    },
    { once: true },
  );
  dialog.returnValue = "";
  dialog.showModal();
  $("release-reason").focus();
}

async function afterRelease(message) {
  say(`Release of ${message.subject || message.message_id} queued: its files appear in a moment.`);
  // Released once the message says so and each of its files has its record (record_metadata
  // writes them just after the extract function delivered them).
  let done = false;
  for (let attempt = 0; attempt < RELEASE_POLLS && !done; attempt += 1) {
    await new Promise((resolve) => window.setTimeout(resolve, RELEASE_PAUSE_MS));
    try {
      const view = await state.api.getMessage(message.message_id);
      const record = view.message || {};
      done = record.outcome === "released" && (view.files || []).length >= (record.file_count || 0);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 404) {
        showError(error);
        break;
      }
    }
  }
  await loadQuarantine();
  await loadFiles();
  say(
    done
      ? `Released ${message.subject || message.message_id}: its files are in the list.`
      : `Release of ${message.subject || message.message_id} queued; not finished yet. Refresh in a moment.`,
  );
  if (!$("quarantine-section").contains(document.activeElement)) $("quarantine-heading").focus();
}

// -- upload --

function uploadItem(file) {
  const status = el("span", { className: "upload-status", text: "Waiting to start" });
  const progress = el("progress", { max: "100", value: "0", "aria-label": `Upload progress of ${file.name}` });
  const item = el(
    "li",
    { className: "upload-item" },
    el("span", { className: "upload-name", text: file.name }),
    el("span", { className: "upload-size", text: formatSize(file.size) }),
    progress,
    status,
  );
  $("uploads").prepend(item);
  return {
    item,
    progress: (fraction) => {
      progress.value = Math.round(fraction * 100);
    },
    status: (text, kind) => {
      status.textContent = text;
      item.dataset.state = kind || "";
    },
  };
}

async function uploadFiles(fileList) {
  const files = [...fileList];
  if (!files.length) return;
  clearError();
  const caseTag = $("upload-case").value.trim();
  const queue = files.map((file) => ({ file, view: uploadItem(file) }));
  say(`Uploading ${files.length} file${files.length === 1 ? "" : "s"}.`);
  let done = 0;
  let failed = 0;
  const worker = async () => {
    while (queue.length) {
      const { file, view } = queue.shift();
      try {
        await uploadOne(file, view, caseTag);
        done += 1;
      } catch (error) {
        failed += 1;
        view.status(error.message, "failed");
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_UPLOADS, queue.length) }, worker));
  $("clear-uploads").hidden = false;
  await loadFiles();
  const summary = failed ? `${done} uploaded, ${failed} failed.` : `${done} file${done === 1 ? "" : "s"} uploaded and recorded.`;
  say(summary);
}

async function uploadOne(file, view, caseTag) {
  view.status("Uploading…", "uploading");
  const post = await state.api.signUpload(file, contentTypeOf(file), caseTag);
  await postToS3(post, file, view.progress);
  view.status("Uploaded, waiting to be recorded…", "waiting");
  const recorded = await waitForRecord(post.file_id);
  if (!recorded) {
    view.status("Uploaded; not recorded yet. Refresh in a moment.", "late");
    return;
  }
  view.status("Recorded", "done");
  await loadFiles();
}

async function waitForRecord(fileId) {
  let pause = RECORD_FIRST_PAUSE_MS;
  for (let attempt = 0; attempt < RECORD_POLLS; attempt += 1) {
    try {
      return (await state.api.getFile(fileId)).file;
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 404) throw error;
    }
    await new Promise((resolve) => window.setTimeout(resolve, pause));
    pause = Math.min(pause * 1.5, RECORD_MAX_PAUSE_MS);
  }
  return null;
}

// -- events --

function wireEvents() {
  $("error-dismiss").addEventListener("click", clearError);
  $("sign-in").addEventListener("click", () => beginSignIn(state.config.auth));
  $("sign-out").addEventListener("click", () => signOut(state.config));
  $("refresh").addEventListener("click", async () => {
    clearError();
    await loadFiles();
    say("Refreshed.");
  });
  // Wide screens always show the filters; narrow ones fold them under a "Filters" summary.
  const wide = window.matchMedia("(min-width: 721px)");
  const unfold = () => {
    if (wide.matches) $("filters-panel").open = true;
  };
  wide.addEventListener("change", unfold);
  unfold();
  $("filters").addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError();
    state.filters = readFilters();
    state.cursor = null;
    state.previous = [];
    state.first = 0;
    state.firsts = [];
    await loadFiles();
    say(`${state.files.length} file${state.files.length === 1 ? "" : "s"} shown.`);
  });
  $("clear-filters").addEventListener("click", async () => {
    clearError();
    $("filters").reset();
    state.filters = {};
    state.cursor = null;
    state.previous = [];
    state.first = 0;
    state.firsts = [];
    await loadFiles();
    say("Filters cleared.");
  });
  $("next-page").addEventListener("click", async () => {
    if (!state.next) return;
    state.previous.push(state.cursor);
    state.cursor = state.next;
    state.firsts.push(state.first);
    state.first += state.files.length;
    await loadFiles();
    say(`Page ${state.previous.length + 1}.`);
    if ($("next-page").disabled) $("prev-page").focus();
  });
  $("prev-page").addEventListener("click", async () => {
    if (!state.previous.length) return;
    state.cursor = state.previous.pop();
    state.first = state.firsts.pop() || 0;
    await loadFiles();
    say(`Page ${state.previous.length + 1}.`);
    if ($("prev-page").disabled) $("next-page").focus();
  });
  $("refresh-quarantine").addEventListener("click", async () => {
    clearError();
    await loadQuarantine();
    say("Quarantine refreshed.");
  });
  $("close-details").addEventListener("click", closeDetails);
  $("details").addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeDetails();
  });
  $("details-download").addEventListener("click", () => state.selected && openFile(state.selected));
  $("details-delete").addEventListener(
    "click",
    (event) => state.selected && confirmDelete(state.selected, event.currentTarget),
  );

  $("clear-uploads").addEventListener("click", () => {
    for (const item of $("uploads").querySelectorAll(".upload-item[data-state=done]")) item.remove();
    $("clear-uploads").hidden = true;
    $("choose-files").focus();
  });

  const input = $("file-input");
  $("choose-files").addEventListener("click", () => input.click());
  input.addEventListener("change", async () => {
    const files = [...input.files];
    input.value = "";
    await uploadFiles(files);
  });

  const zone = $("drop-zone");
  let depth = 0;
  zone.addEventListener("dragenter", (event) => {
    event.preventDefault();
    depth += 1;
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = "copy";
  });
  zone.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) zone.classList.remove("dragging");
  });
  zone.addEventListener("drop", async (event) => {
    event.preventDefault();
    depth = 0;
    zone.classList.remove("dragging");
    if (!state.api || !can(state.role, "upload")) {
      say(state.api ? "Your role may not upload: nothing was uploaded." : "Sign in first: nothing was uploaded.");
      return;
    }
    await uploadFiles(event.dataTransfer ? event.dataTransfer.files : []);
  });
  // A file dropped beside the zone must not replace the page with the file.
  for (const type of ["dragover", "drop"]) {
    window.addEventListener(type, (event) => {
      if (!zone.contains(event.target)) event.preventDefault();
    });
  }
}

// A local dashboard link pasted into a tab already on this page only changes the fragment:
// start again, so its token signs in (and leaves the address bar).
window.addEventListener("hashchange", () => {
  if (/^#(.*&)?token=/.test(window.location.hash)) window.location.reload();
});
start().catch(showError);
