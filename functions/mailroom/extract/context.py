"""The message's context: a short excerpt of its text, file-sharing links, `cid:` references.

Every scan is linear in the text it is given, and the text is bounded by the caller:
- the excerpt reads at most EXCERPT_SCAN_CHARS of the first body, line by line, and stops at
  the first line that starts a quoted reply, a forward or a signature (each line is matched
  from its start, cut to LINE_CAP characters first);
- links and `cid:` references are found by one search each for a literal ("http", "cid:") that
  the regex engine skips to, with possessive, bounded runs (nothing is re-read on a failed match).

Links are recorded, never fetched: staff see them and decide.
"""

from __future__ import annotations

import html
import re
from urllib.parse import unquote, urlsplit

from mailroom.extract.cost import METER

EXCERPT_CHARS = 500
EXCERPT_SCAN_CHARS = 8 * 1024
LINK_SCAN_CHARS = 256 * 1024
LINE_CAP = 400
MAX_LINKS = 20
MAX_LINK_CHARS = 2000
MAX_CIDS = 1000

# Hosts of file-sharing services (the host itself or any subdomain of it).
SHARING_HOSTS = (
    "1drv.ms",
    "onedrive.live.com",
    "sharepoint.com",
    "drive.google.com",
    "docs.google.com",
    "dropbox.com",
    "dropboxusercontent.com",
    "db.tt",
    "wetransfer.com",
    "we.tl",
    "box.com",
    "box.net",
)

# Lines that end the part of a body worth showing: a reply's attribution line, a forward's or
# Outlook's separator, a signature delimiter, a phone client's signature. Matched at a line's
# start only, on a line cut to LINE_CAP characters.
_STOP = re.compile(
    r"(?:On\s.*wrote:\s*$"
    r"|Am\s.*schrieb.*:\s*$"
    r"|Le\s.*a\s\u00e9crit\s?:\s*$"
    r"|-{2,}+\s*+(?:Original Message|Forwarded message|Urspr\u00fcngliche Nachricht)"
    r"|_{10,}+\s*+$"
    r"|--\s?$"
    r"|(?:From|Von|De|Sent|Gesendet):\s"
    r"|Begin forwarded message:"
    r"|Sent from my\s"
    r"|Get Outlook for\s)",
    re.IGNORECASE,
)
_URL = re.compile(r"https?://[^\s<>\"'`\x00-\x1f\\]{1,2000}+", re.IGNORECASE)
_URL_OR_CID = re.compile(
    r"https?://[^\s<>\"'`\x00-\x1f\\]{1,2000}+|cid:(?P<cid>[^\s\"'<>()\\]{1,998}+)",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?)]}*"


def excerpt(text: str) -> str | None:
    """About EXCERPT_CHARS of the text before any quoted reply, forward or signature."""
    text = text[:EXCERPT_SCAN_CHARS]
    METER.charge(len(text))
    kept: list[str] = []
    size = 0
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith(">"):
            continue  # a quoted line of a bottom-posted reply: skipped, not the end
        if _STOP.match(line[:LINE_CAP]):
            break
        kept.append(line[: EXCERPT_CHARS + 1])
        size += len(line) + 1
        if size > EXCERPT_CHARS:
            break
    joined = " ".join(" ".join(kept).split())
    if not joined:
        return None
    if len(joined) <= EXCERPT_CHARS:
        return joined
    cut = joined[:EXCERPT_CHARS]
    space = cut.rfind(" ")
    return (cut[:space] if space > EXCERPT_CHARS // 2 else cut) + "\u2026"


def is_sharing_link(url: str) -> bool:
    try:
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return False
    return any(host == h or host.endswith("." + h) for h in SHARING_HOSTS)


def scan_links(text: str, links: list[str], cids: set[str] | None = None) -> None:
    """One pass over `text`: append the file-sharing links not already in `links` (at most
    MAX_LINKS); for an HTML body (`cids` given) add the Content-IDs its `cid:` URLs reference,
    lower-case (at most MAX_CIDS)."""
    text = text[:LINK_SCAN_CHARS]
    METER.charge(len(text))
    pattern = _URL_OR_CID if cids is not None else _URL
    for match in pattern.finditer(text):
        cid = match.group("cid") if cids is not None else None
        if cid is not None:
            if cids is not None and len(cids) < MAX_CIDS:
                cids.add(unquote(cid).strip("<>").lower())
            continue
        if len(links) >= MAX_LINKS:
            if cids is None:
                return
            continue
        url = match.group().rstrip(_TRAILING)
        if cids is not None:  # HTML: &amp; in an href
            url = html.unescape(url)
        if is_sharing_link(url) and url not in links:
            links.append(url[:MAX_LINK_CHARS])
