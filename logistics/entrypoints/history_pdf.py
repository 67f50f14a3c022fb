"""One entity's history with its chain proof, as an A4 PDF for a safety officer or an auditor
(reportlab's platypus: a table that flows over as many pages as it takes)."""

from __future__ import annotations

import io
import json
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

HOW_TO_CHECK = (
    "How to check this record. Each event's hash is SHA-256 over the previous event's hash of the same "
    "entity (version 1 follows 32 zero bytes) and the event exactly as stored: the entity id, the version, "
    "the event type and its recorded data. Each position's facility link is SHA-256 over the previous "
    "position's link, the position and the event's hash, so it depends on every event recorded before. "
    "'logistics verify --anchor-file KEPT' recomputes all of them from the database and compares them with "
    "an anchor kept outside it; the facility links printed here can be compared with that anchor's chain."
)


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    small = ParagraphStyle("small", parent=base["BodyText"], fontSize=7.5, leading=9)
    return {"title": base["Title"], "body": base["BodyText"], "small": small,
            "mono": ParagraphStyle("mono", parent=small, fontName="Courier", fontSize=6.5, leading=7.5)}


def render_history_pdf(name: str, kind: str, proof: dict[str, Any], exported_at: str, exported_by: str) -> bytes:
    s = _styles()
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=14 * mm, rightMargin=14 * mm, topMargin=14 * mm,
                            bottomMargin=16 * mm, title=f"History of {name}", author="logistics")
    head = proof["head"]
    holds = "holds: every event matches its recorded hash" if proof["holds"] else \
        "DOES NOT HOLD: at least one event does not match its recorded hash (see 'matches' below)"
    story: list[Any] = [
        Paragraph(escape(f"History of {kind} {name}"), s["title"]),
        Paragraph(escape(f"Entity id {proof['entity']}. Exported {exported_at} by {exported_by}. "
                         f"{len(proof['events'])} events."), s["body"]),
        Paragraph(escape(f"This entity's chain {holds}."), s["body"]),
    ]
    if head:
        story.append(Paragraph(escape(f"Facility chain at export: position {head['position']}, link "), s["body"]))
        story.append(Paragraph(escape(head["hash"]), s["mono"]))
    story.append(Spacer(1, 4 * mm))
    rows: list[list[Any]] = [[Paragraph(f"<b>{h}</b>", s["small"]) for h in
                              ("v.", "time (UTC)", "event, by, at", "what", "position and hashes")]]
    for e in proof["events"]:
        data = json.dumps(e["data"], default=str, ensure_ascii=False, sort_keys=True)
        who = f"<b>{escape(e['event'])}</b><br/>{escape(str(e['actor']))}" + (
            f"<br/>{escape(e['station'])}" if e.get("station") else "")
        hashes = (f"position {e['position']}{'' if e['matches'] else ' MISMATCH'}<br/>event {e['event_hash']}"
                  f"<br/>facility {e['chain_hash'] or '(none)'}")
        rows.append([Paragraph(str(e["version"]), s["small"]),
                     Paragraph(escape(str(e["time"])[:19].replace("T", " ")), s["small"]),
                     Paragraph(who, s["small"]), Paragraph(escape(data[:600]), s["small"]),
                     Paragraph(hashes, s["mono"])])
    width = A4[0] - 28 * mm
    table = LongTable(rows, colWidths=[w * width for w in (0.05, 0.13, 0.17, 0.30, 0.35)], repeatRows=1)
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke)]))
    story += [table, Spacer(1, 5 * mm), Paragraph(escape(HOW_TO_CHECK), s["small"])]

    def footer(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(14 * mm, 9 * mm, f"History of {name} - exported {exported_at}")
        canvas.drawRightString(A4[0] - 14 * mm, 9 * mm, f"page {document.page}")
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()
