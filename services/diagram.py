"""A workflow as a diagram: SVG drawn on the server, with a title, a description and a text
alternative, so the designer shows the flow without a script or a layout program.

Stages stand in a column in their order; a step forward is an arrow on the right, a step back an
arrow on the left; steps that keep the case in its stage (a pause, a request for documents) are
listed beside it, and steps possible from every stage under the diagram.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _

from accounts.models import Role

from .models import APPLICANT, Outcome, StageKind, WorkflowDefinition

BOX_W, BOX_H, GAP, LEFT, TOP = 230, 58, 46, 190, 20
KIND_FILL = {
    StageKind.INTAKE: "#e8f0fb",
    StageKind.REVIEW: "#eef6ee",
    StageKind.DECISION: "#fdf3e3",
    StageKind.DELIVERY: "#f1ecf8",
    StageKind.END: "#e9e9e9",
}
CLOSING = {Outcome.NOT_ACCEPTED, Outcome.REJECTED, Outcome.WITHDRAWN}


@dataclass(frozen=True)
class Step:
    label: str
    outcome: str
    source: int | None
    target: int | None
    roles: str


def _roles(codes) -> str:
    names = {**dict(Role.choices), APPLICANT: _("applicant")}
    return "、".join(str(names.get(code, code)).split(" (")[0] for code in codes)


def _steps(definition: WorkflowDefinition) -> list[Step]:
    return [
        Step(
            t.localized_label or t.name,
            t.outcome,
            t.source_id,
            t.target_id,
            _roles(t.allowed_roles),
        )
        for t in definition.transitions.order_by("order", "pk")
    ]


def describe(definition: WorkflowDefinition) -> list[dict]:
    """The text alternative: each stage with the steps that leave it."""
    stages = list(definition.stages.order_by("order", "pk"))
    names = {s.pk: s.label for s in stages}
    steps = _steps(definition)
    rows = []
    for stage in stages:
        rows.append(
            {
                "stage": stage,
                "steps": [
                    {
                        "label": step.label,
                        "outcome": Outcome(step.outcome).label if step.outcome else "",
                        "to": names.get(step.target) if step.target else _("stays in this stage"),
                        "roles": step.roles,
                    }
                    for step in steps
                    if step.source == stage.pk
                ],
            }
        )
    everywhere = [
        {"label": s.label, "outcome": Outcome(s.outcome).label if s.outcome else "",
         "to": names.get(s.target) if s.target else _("stays in its stage"), "roles": s.roles}
        for s in steps
        if s.source is None
    ]  # fmt: skip
    return rows + ([{"stage": None, "steps": everywhere}] if everywhere else [])


def _text(x: float, y: float, text: str, **attrs) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return f'<text x="{x:.0f}" y="{y:.0f}"{extra}>{escape(text)}</text>'


def workflow_svg(definition: WorkflowDefinition) -> str:
    stages = list(definition.stages.order_by("order", "pk"))
    index = {stage.pk: i for i, stage in enumerate(stages)}
    steps = _steps(definition)
    moving = [s for s in steps if s.source in index and s.target in index and s.source != s.target]
    staying = [s for s in steps if s.source in index and (s.target is None or s.target == s.source)]
    everywhere = [s for s in steps if s.source is None]
    height = TOP * 2 + len(stages) * BOX_H + max(len(stages) - 1, 0) * GAP
    footer = 22 * len(everywhere) + (30 if everywhere else 0)
    width = LEFT + BOX_W + 330
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height + footer}" '
        f'width="100%" role="img" aria-labelledby="wf-title wf-desc" class="workflow-diagram">',
        f'<title id="wf-title">{escape(_("Workflow: %(name)s") % {"name": definition.name})}</title>',
        f'<desc id="wf-desc">{escape(_("%(stages)d stages and %(steps)d steps; the list below says the same in words.") % {"stages": len(stages), "steps": len(steps)})}</desc>',
        '<defs><marker id="wf-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#333"/>'
        "</marker></defs>",
        '<g font-family="Noto Sans CJK SC, sans-serif" font-size="13" fill="#111">',
    ]  # fmt: skip

    def top(i: int) -> float:
        return TOP + i * (BOX_H + GAP)

    for i, stage in enumerate(stages):
        y = top(i)
        parts.append(
            f'<rect x="{LEFT}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" '
            f'fill="{KIND_FILL.get(stage.kind, "#fff")}" stroke="#333"/>'
        )
        parts.append(
            _text(LEFT + BOX_W / 2, y + 24, stage.label, text_anchor="middle", font_weight="bold")
        )
        role = _roles([stage.role]) if stage.role else stage.get_kind_display()
        parts.append(_text(LEFT + BOX_W / 2, y + 44, role, text_anchor="middle", font_size="11"))
        for n, step in enumerate(s for s in staying if s.source == stage.pk):
            parts.append(
                _text(LEFT + BOX_W + 14, y + 16 + n * 16, f"↺ {step.label}", font_size="11")
            )
    right = [s for s in moving if index[s.target] > index[s.source]]
    left = [s for s in moving if index[s.target] < index[s.source]]
    for n, step in enumerate(right):
        a, b = index[step.source], index[step.target]
        x = LEFT + BOX_W
        y1, y2 = top(a) + BOX_H / 2 + 6, top(b) + BOX_H / 2 - 6
        bend = 40 + 34 * (n % 4) + 14 * (b - a)
        colour = "#b3121f" if step.outcome in CLOSING else "#333"
        parts.append(
            f'<path d="M{x},{y1} C{x + bend},{y1} {x + bend},{y2} {x},{y2}" fill="none" '
            f'stroke="{colour}" stroke-width="1.5" marker-end="url(#wf-arrow)"/>'
        )
        # Long arcs (often into the end stage) carry their label near their start, so labels of
        # arcs that cross in the middle stay apart; a point of the curve at t: x + 3t(1-t)·bend.
        t = 0.5 if b - a <= 2 else 0.18 + 0.06 * (n % 3)
        label_x = x + 3 * t * (1 - t) * bend + 4
        label_y = y1 + (y2 - y1) * (3 * t * t - 2 * t * t * t) + 4
        parts.append(
            _text(label_x, label_y, step.label, font_size="11", fill=colour, paint_order="stroke",
                  stroke="#fff", stroke_width="3")
        )  # fmt: skip
    for n, step in enumerate(left):
        a, b = index[step.source], index[step.target]
        y1, y2 = top(a) + BOX_H / 2, top(b) + BOX_H / 2
        bend = 40 + 30 * (n % 4)
        parts.append(
            f'<path d="M{LEFT},{y1} C{LEFT - bend},{y1} {LEFT - bend},{y2} {LEFT},{y2}" '
            f'fill="none" stroke="#555" stroke-dasharray="5 3" stroke-width="1.5" '
            f'marker-end="url(#wf-arrow)"/>'
        )
        parts.append(
            _text(LEFT - bend * 0.75 - 4, (y1 + y2) / 2 + 4, step.label, font_size="11",
                  text_anchor="end")
        )  # fmt: skip
    if everywhere:
        y = height + 10
        parts.append(_text(20, y, _("From every open stage:"), font_weight="bold"))
        for n, step in enumerate(everywhere):
            parts.append(
                _text(36, y + 22 * (n + 1), f"{step.label} ({step.roles})", font_size="12")
            )
    parts.append("</g></svg>")
    return "".join(parts)
