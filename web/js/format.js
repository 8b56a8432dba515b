// Pure formatting helpers: how the table and the details panel show a record.

const UNITS = ["KB", "MB", "GB", "TB"];

export function formatSize(bytes) {
  const size = Number(bytes);
  if (!Number.isFinite(size) || size < 0) return "";
  if (size < 1024) return `${size} B`;
  let value = size;
  let unit = "B";
  for (const next of UNITS) {
    if (value < 1024) break;
    value /= 1024;
    unit = next;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${unit}`;
}

/** "2026-11-29 21:50 UTC": staff compare times with the CLI's, which are UTC too. */
export function formatTime(iso, { seconds = false, zone = true } = {}) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso || "";
  const text = date.toISOString().replace("T", " ").slice(0, seconds ? 19 : 16);
  return zone ? `${text} UTC` : text;
}

/** "client@x via staff@y" when the file came out of a forwarded message, as the CLI shows. */
export function senderLabel(record) {
  const sender = record.sender || record.from_address || record.envelope_sender || "";
  const original = record.original_sender;
  if (original && sender && original.toLowerCase() !== sender.toLowerCase()) {
    return `${original} via ${sender}`;
  }
  return original || sender || "";
}

const SOURCES = { email: "Email", upload: "Upload", import: "Import" };

/** How the file came in (a file record has no outcome: its message has), with its flags. */
export function sourceLabel(record) {
  const parts = [SOURCES[record.source] || record.source || "Recorded"];
  if (record.suspected_spam) parts.push("suspected spam");
  if (record.deleted) parts.push("deleted");
  return parts.join(" · ");
}

/** "yes (dmarc PASS)" / "no (...)" / "" when never checked. */
export function trust(record) {
  if (record.authenticated === null || record.authenticated === undefined) return "";
  const answer = record.authenticated ? "Yes" : "No";
  return record.auth_reason ? `${answer} (${record.auth_reason})` : answer;
}

/** The Content-Type to declare for an upload: the browser's guess, else from the name. */
const TYPES = {
  pdf: "application/pdf",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  tif: "image/tiff",
  tiff: "image/tiff",
  gif: "image/gif",
  webp: "image/webp",
  heic: "image/heic",
  txt: "text/plain",
  csv: "text/csv",
  rtf: "application/rtf",
  doc: "application/msword",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  xls: "application/vnd.ms-excel",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  odt: "application/vnd.oasis.opendocument.text",
  ods: "application/vnd.oasis.opendocument.spreadsheet",
  eml: "message/rfc822",
};

export function contentTypeOf(file) {
  if (file.type) return file.type;
  const extension = (file.name.split(".").pop() || "").toLowerCase();
  return TYPES[extension] || "application/octet-stream";
}
