"""One table model rendered as text, HTML and Markdown: used by summaries, anova and LRT tables."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["Section", "Report", "format_number"]


def format_number(value, digits: int = 4) -> str:
    """Format a number with ``digits`` significant digits, blank for missing values."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, str):
        return value
    if abs(value) != 0 and (abs(value) < 1e-3 or abs(value) >= 1e7):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}g}" if abs(value) < 1 else f"{value:.{max(digits - 1, 0)}f}"


@dataclass(frozen=True)
class Section:
    """A titled block: free text lines, a table, or both."""

    title: str = ""
    lines: tuple[str, ...] = ()
    table: pd.DataFrame | None = None
    index: bool = True
    digits: int = 4

    def _formatted(self) -> pd.DataFrame:
        assert self.table is not None
        return self.table.apply(
            lambda col: col.map(lambda v: format_number(v, self.digits))
            if pd.api.types.is_numeric_dtype(col)
            else col.fillna("").astype(str)
        )


@dataclass(frozen=True)
class Report:
    """An ordered list of sections with a heading, rendered to text, HTML or Markdown."""

    heading: str
    sections: tuple[Section, ...] = field(default_factory=tuple)

    def to_text(self) -> str:
        """Plain-text rendering (what ``print`` shows)."""
        out = [self.heading]
        for section in self.sections:
            out.append("")
            if section.title:
                out.append(f"{section.title}:")
            out.extend(section.lines)
            if section.table is not None:
                text = section._formatted().to_string(index=section.index)
                out.extend(" " + line for line in text.splitlines())
        return "\n".join(out)

    def to_html(self) -> str:
        """HTML rendering for Jupyter."""
        parts = [f"<div class='mixedmodels-report'><strong>{html.escape(self.heading)}</strong>"]
        for section in self.sections:
            if section.title:
                parts.append(f"<p><em>{html.escape(section.title)}</em></p>")
            if section.lines:
                parts.append("<pre>" + html.escape("\n".join(section.lines)) + "</pre>")
            if section.table is not None:
                parts.append(section._formatted().to_html(index=section.index, escape=True))
        parts.append("</div>")
        return "\n".join(parts)

    def to_markdown(self) -> str:
        """Markdown rendering (pipe tables)."""
        out = [f"**{self.heading}**"]
        for section in self.sections:
            out.append("")
            if section.title:
                out.append(f"*{section.title}*")
                out.append("")
            out.extend(section.lines)
            if section.table is not None:
                frame = section._formatted()
                if section.index:
                    frame = frame.reset_index()
                header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
                rule = "|" + "|".join("---" for _ in frame.columns) + "|"
                rows = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.to_numpy()]
                out.extend([header, rule, *rows])
        return "\n".join(out)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_markdown_(self) -> str:
        return self.to_markdown()
