"""What makes the validation report fit to cite: the smoke-run banner, the provenance header,
a table of contents, rendered equations, and the strict verdict (``linksim validate --strict``).

All of it works on the finished HTML and the summary generically, so sections added by new
effects (any ``<h2>`` heading, any summary row with a verdict) are covered without changes here.
"""

from __future__ import annotations

import functools
import html
import re
from dataclasses import asdict, fields
from typing import Any

#: the settings a run must reach (>= the defaults of ValidationSettings) to be evidence
EVIDENCE_FIELDS = ("drops", "phase_drops", "geometry_drops", "ergodic_samples")

#: the equations the report tests, rendered with matplotlib's mathtext (no network needed)
EQUATIONS: tuple[tuple[str, str], ...] = (
    ("(13)-(15) desired gain on subcarrier q",
     r"$G_{s,k}[q] = g_{s,k}\, e^{j\theta_{s,k}}\, \Psi(\epsilon_{s,k})\, "
     r"e^{-j 2\pi q \Delta f \Delta\tau_{s,k}}\, v_{s,k}^H w_{s,k}$"),
    ("(16) ICI and ISI neglected when", r"$|\Delta\nu| \ll \Delta f$"),
    ("(25) expected phase error", r"$\mathbb{E}\, e^{j\theta} = e^{-\sigma_\theta^2/2}$"),
    ("(19) expected rate of user k",
     r"$R_k = \log_2\!\left(1 + \frac{w_k^H R_k w_k}"
     r"{\sum_{i \neq k} w_i^H Q_k w_i + \sigma_k^2}\right)$"),
    ("measured rate (genie receiver)",
     r"$\hat R_k = \frac{1}{Q}\sum_q \log_2\!\left(1 + "
     r"\frac{|\hat G_k[q]|^2}{\hat P_{\mathrm{else},k}}\right)$"),
    ("reference SNR",
     r"$\mathrm{SNR} = P\, \overline{\gamma} / \overline{\sigma^2}$"
     r"$\quad$(per-satellite power per subcarrier, mean link gain, mean noise power)"),
)


def smoke_reasons(settings: Any, quick: bool = False) -> list[str]:
    """Why a run is a smoke run rather than evidence: ``--quick`` (or exactly its sizes), or
    any of :data:`EVIDENCE_FIELDS` below the default of its settings class. Empty: a full
    run."""
    defaults = {f.name: f.default for f in fields(type(settings))}
    values = asdict(settings)
    if not quick and hasattr(type(settings), "quick"):  # the --quick sizes, however given
        q = asdict(type(settings).quick())
        quick = all(values.get(n) == q.get(n) for n in EVIDENCE_FIELDS)
    reasons = ["ran with --quick"] if quick else []
    for name in EVIDENCE_FIELDS:
        if name in values and name in defaults and values[name] < defaults[name]:
            reasons.append(f"{name} = {values[name]} < default {defaults[name]}")
    return reasons


def evidence(settings: Any, quick: bool = False) -> dict[str, Any]:
    """The summary entry ``evidence``: smoke_run (bool) and its reasons."""
    reasons = smoke_reasons(settings, quick)
    return {"smoke_run": bool(reasons), "reasons": reasons}


def banner_html(ev: dict[str, Any]) -> str:
    """The smoke-run banner ('' for a full run)."""
    if not ev.get("smoke_run"):
        return ""
    why = "; ".join(html.escape(r) for r in ev["reasons"])
    return ("<div class='smoke' id='smoke-banner'><b>Smoke run, not evidence.</b> "
            f"This report ran with fewer samples than its defaults ({why}); its verdicts and "
            "statistics are too noisy to cite. Rerun without --quick and with the default "
            "--drops.</div>")


def failed_rows(summary: dict[str, Any]) -> list[str]:
    """The assumptions whose verdict is not 'holds' (every row with a verdict, any section)."""
    out = []
    for row in summary.get("table", []):
        if row.get("verdict") not in (None, "holds"):
            out.append(str(row.get("assumption")))
    for key, value in summary.items():  # sections added by new effects with their own rows
        if key != "table" and isinstance(value, dict) and isinstance(value.get("table"), list):
            out += [str(r.get("assumption")) for r in value["table"]
                    if isinstance(r, dict) and r.get("verdict") not in (None, "holds")]
    return out


def _slug(text: str, used: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", re.sub(r"<[^>]+>", "", text).lower()).strip("-") or "s"
    slug, n = base, 2
    while slug in used:
        slug, n = f"{base}-{n}", n + 1
    used.add(slug)
    return slug


def add_toc(page: str) -> str:
    """Give every ``<h2>`` an id and insert a linked table of contents after the first
    ``<h2>Summary</h2>`` table (or before the first section); each section links back."""
    used: set[str] = set()
    entries: list[tuple[str, str]] = []

    def repl(m: re.Match) -> str:
        attrs, title = m.group(1) or "", m.group(2)
        if "id=" in attrs:
            slug = re.search(r"id=['\"]([^'\"]+)", attrs).group(1)
        else:
            slug = _slug(title, used)
            attrs = f"{attrs} id='{slug}'"
        entries.append((slug, title))
        back = "" if title.strip() == "Summary" else \
            " <a class='toplink' href='#contents'>&uarr; contents</a>"
        return f"<h2{attrs}>{title}{back}</h2>"

    page = re.sub(r"<h2([^>]*)>(.*?)</h2>", repl, page)
    toc = ("<nav id='contents'><b>Contents</b><ol>" + "".join(
        f"<li><a href='#{s}'>{t}</a></li>" for s, t in entries) + "</ol></nav>")
    m = re.search(r"<h2[^>]*>Summary.*?</h2>\s*<table.*?</table>", page, flags=re.S)
    at = m.end() if m else page.find("<h2")
    return page[:at] + toc + page[at:] if at >= 0 else page + toc


@functools.lru_cache(maxsize=None)
def equation_svg(tex: str) -> str:
    """One equation as inline SVG (matplotlib mathtext, no network at view time)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import mathtext

    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "linksim"}):
        mathtext.math_to_image(tex, buf, format="svg", dpi=100)
    svg = buf.getvalue().decode()
    return svg[svg.index("<svg"):]


def equations_html() -> str:
    """The equations section: each equation the report tests, rendered inline."""
    rows = "".join(f"<tr><th>{html.escape(label)}</th><td class='eq'>{equation_svg(tex)}</td>"
                   f"</tr>" for label, tex in EQUATIONS)
    return ("<h2>Equations tested</h2><p class='note'>The paper's model as implemented "
            "(docs/model.md); numbers in the sections refer to these equations.</p>"
            f"<table class='equations'>{rows}</table>")


CSS = """
.smoke { background: #fff3cd; border: 2px solid #c90; padding: 0.6em 1em; margin: 1em 0; }
nav#contents { border: 1px solid #ccc; padding: 0.3em 1em; margin: 1em 0; font-size: 0.9em; }
.toplink { font-size: 0.6em; font-weight: normal; }
table.provenance th { width: 10em; } td.eq svg { max-height: 3.2em; }
"""


def finish_html(page: str, summary: dict[str, Any], provenance: dict | None) -> str:
    """Add CSS, the provenance header, the smoke banner, the equations and the table of
    contents to a rendered report page."""
    from linksim.runtime.provenance import html_block

    page = page.replace("</style>", CSS + "</style>", 1)
    head = banner_html(summary.get("evidence", {}))
    if provenance is not None:
        head += html_block(provenance)
    m = re.search(r"<h1[^>]*>.*?</h1>", page, flags=re.S)
    at = m.end() if m else page.find("<body>") + len("<body>")
    page = page[:at] + head + page[at:]
    # the equations section goes after the summary (before the first numbered section)
    m = re.search(r"<h2[^>]*>\s*1\.", page)
    eq = equations_html()
    page = page[:m.start()] + eq + page[m.start():] if m else page.replace(
        "</body>", eq + "</body>")
    return add_toc(page)
