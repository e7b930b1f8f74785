"""to_markdown(postmortem): the document as Markdown, times in UTC, for a wiki or a pull request."""

from __future__ import annotations

from opsbook.postmortem.build import fmt_duration, utc
from opsbook.postmortem.models import PostMortem


def _cell(text: str) -> str:
    """One table cell: pipes escaped, newlines flattened, so user text cannot break the table."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def to_markdown(pm: PostMortem) -> str:
    inc, w, imp = pm.incident, pm.written, pm.impact
    out = [f"# Post-mortem: {inc.title}", ""]
    meta = [
        f"- **Incident:** {inc.id} ({inc.severity}, {inc.status})",
        f"- **Status:** {w.status}" + (" (required)" if w.required else ""),
        f"- **Commander:** {inc.commander or '-'}",
    ]
    if w.due_at:
        meta.append(f"- **Due:** {utc(w.due_at)}")
    if inc.runbook_path:
        meta.append(
            f"- **Runbook:** {inc.runbook_path}"
            + (f" — {inc.section_heading}" if inc.section_heading else "")
        )
    out += [*meta, "", "## Summary", "", pm.summary, "", "## Impact", ""]
    out += [
        f"- **Severity:** {imp.severity}",
        f"- **Services:** {', '.join(imp.services)}",
        f"- **Components:** {', '.join(imp.components) or '-'}",
        f"- **Started:** {utc(imp.started_at)}",
        f"- **Detected:** {utc(imp.detected_at) if imp.detected_at else '-'}",
        f"- **Resolved:** {utc(imp.resolved_at) if imp.resolved_at else 'not yet'}",
        f"- **Duration:** {fmt_duration(imp.duration_seconds)}",
        f"- **Time on the status page:** {fmt_duration(imp.status_page_seconds)}",
        "",
        "## Timeline (UTC)",
        "",
        "| Time (UTC) | Event | Who | What |",
        "|---|---|---|---|",
    ]
    out += [
        f"| {t.at.strftime('%Y-%m-%d %H:%M:%S')} | {_cell(t.kind)} | {_cell(t.actor)} | {_cell(t.message)} |"
        for t in pm.timeline
    ]
    out += [
        "",
        "## Root cause",
        "",
        w.root_cause or "_To be written._",
        "",
        "## Contributing factors",
        "",
    ]
    out += [f"- {f}" for f in w.contributing_factors] or ["_To be written._"]
    out += ["", "## Mitigations applied", ""]
    if pm.mitigations:
        out += [
            "| Finished (UTC) | Step | Safety | Outcome | By | Result |",
            "|---|---|---|---|---|---|",
        ]
        out += [
            f"| {m.at.strftime('%Y-%m-%d %H:%M:%S') if m.at else '-'} | {_cell(m.step)} | {m.safety} "
            f"| {m.status} | {_cell(m.by)} | {_cell(m.summary)} |"
            for m in pm.mitigations
        ]
    else:
        out.append("_No runbook step ran._")
    if w.lessons:
        out += ["", "## Lessons learned", "", w.lessons]
    out += ["", "## Action items", ""]
    if pm.action_items:
        out += ["| Status | Item | Owner | Due |", "|---|---|---|---|"]
        out += [
            f"| {'[x]' if a.status == 'done' else '[ ]'} {a.status} | {_cell(a.title)} | {_cell(a.owner or '-')} "
            f"| {a.due_date.isoformat() if a.due_date else '-'} |"
            for a in pm.action_items
        ]
    else:
        out.append("_None yet._")
    return "\n".join(out) + "\n"
