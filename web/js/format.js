// Pure formatting helpers: how the table and the details panel show a record.

const UNITS = ["kB", "MB", "GB", "TB"];

/**
 * "999 B", "1.0 kB", "12.3 kB", "140 kB", "40.0 MB": SI units (1 kB = 1000 bytes), one decimal
 * below 100, halves rounded up, in integers: exactly what the CLI prints (render.human_size).
 */
export function formatSize(bytes) {
  const number = Number(bytes);
  if (bytes === null || bytes === "" || !Number.isFinite(number) || number < 0) return "";
  const size = BigInt(Math.trunc(number));
  if (size < 1000n) return `${size} B`;
  let scale = 1n;
  for (const unit of UNITS) {
    scale *= 1000n;
    const whole = (2n * size + scale) / (2n * scale);
    if (whole < 1000n || unit === "TB") {
      const tenths = (20n * size + scale) / (2n * scale);
      return tenths < 1000n ? `${tenths / 10n}.${tenths % 10n} ${unit}` : `${whole} ${unit}`;
    }
  }
  return "";
}

/**
 * "3 files", "Files 26–50", "Files 51–62 of 62": the total only where it is known (the last
 * page); counting every file would take a scan of the table.
 */
export function pageSummary(first, count, more) {
  if (count === 0) return "";
  if (first === 0 && !more) return `${count} file${count === 1 ? "" : "s"}, newest first`;
  const range = `Files ${first + 1}–${first + count}`;
  return more ? `${range}, newest first` : `${range} of ${first + count}, newest first`;
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
