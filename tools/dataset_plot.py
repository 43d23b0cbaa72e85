"""The real-data report's figure: the token-length histogram with MAX_LENGTH, as SVG for the light and the
dark color scheme (docs/assets/figures/; docs/data/ is not copied to the site, a picture must be).
"""

from __future__ import annotations

import io


def histogram_svgs(report: dict) -> dict[str, str]:
    """The token-length histogram, one SVG per colour scheme (text stays text: the page's font draws it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lengths, limit = report["lengths"], report["max_length"]
    svgs = {}
    for scheme, (fg, bar, line, bg) in {
        "light": ("#1f2328", "#3f51b5", "#c62828", "white"),
        "dark": ("#e6edf3", "#8c9eff", "#ff8a80", "#1e2129"),
    }.items():
        with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "dataset-report", "font.size": 11}):
            fig, ax = plt.subplots(figsize=(7, 3.2))
            fig.patch.set_facecolor(bg)
            ax.set_facecolor(bg)
            upper = 4096
            ax.hist([min(x, upper) for x in lengths], bins=range(0, upper + 129, 128), color=bar)
            ax.axvline(limit, color=line, linestyle="--")
            ax.text(limit + 40, ax.get_ylim()[1] * 0.9, f"MAX_LENGTH = {limit}", color=line)
            ax.set_xlabel(f"1 例のトークン数（{upper} 以上は右端にまとめています）", color=fg)
            ax.set_ylabel("行数", color=fg)
            ax.tick_params(colors=fg)
            for spine in ax.spines.values():
                spine.set_color(fg)
            fig.tight_layout()
            buffer = io.StringIO()
            fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
            plt.close(fig)
        svgs[f"dataset-lengths-{scheme}.svg"] = buffer.getvalue()
    return svgs
