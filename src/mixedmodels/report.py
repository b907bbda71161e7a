"""One table model rendered as text, HTML, Markdown and LaTeX: summaries, anova and LRT tables.

A :class:`Report` is a heading, :class:`Section` blocks (free text lines and/or a table) and
notes (singular fit, convergence, dropped columns) that every rendering shows prominently.

>>> import pandas as pd
>>> table = pd.DataFrame({"Chisq": [12.3], "Df": [2]}, index=["m2"])
>>> print(Report.from_frame("Likelihood-ratio test", table, notes=("refitted with ML",)))
Likelihood-ratio test
<BLANKLINE>
      Chisq Df
 m2  12.300  2
<BLANKLINE>
Note: refitted with ML
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["Rendered", "Section", "Report", "format_number", "latex_escape"]

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "|": r"\textbar{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}
_NOTE_STYLE = (
    "background:#fff3cd;color:#664d03;border-left:4px solid #e0a800;padding:4px 8px;margin:6px 0"
)


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters in plain text."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def format_number(value, digits: int = 4) -> str:
    """Format a number with ``digits`` significant digits, blank for missing values.

    Integers (counts, degrees of freedom) are printed as they are.
    """
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return str(value)
    if abs(value) != 0 and (abs(value) < 1e-3 or abs(value) >= 1e7):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}g}" if abs(value) < 1 else f"{value:.{max(digits - 1, 0)}f}"


class Rendered:
    """Mixin: ``print``, ``repr`` and Jupyter go through ``to_text``/``to_html``/``to_markdown``."""

    def to_text(self) -> str:
        """Plain text, as R prints it."""
        raise NotImplementedError

    def to_html(self) -> str:
        """HTML (notebooks)."""
        raise NotImplementedError

    def to_markdown(self) -> str:
        """Markdown."""
        raise NotImplementedError

    def __str__(self) -> str:
        """The text rendering."""
        return self.to_text()

    def __repr__(self) -> str:
        """The text rendering."""
        return self.to_text()

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


@dataclass(frozen=True)
class Section:
    """A titled block: free text lines, a table, or both.

    Attributes
    ----------
    title
        Shown above the block (may be empty).
    lines
        Free text lines, shown before the table.
    table
        A DataFrame; numeric columns are formatted with ``digits`` significant digits.
    index
        Whether to show the table's index (row names).
    digits
        Significant digits of the numeric columns.
    """

    title: str = ""
    lines: tuple[str, ...] = ()
    table: pd.DataFrame | None = None
    index: bool = True
    digits: int = 4

    def _formatted(self) -> pd.DataFrame:
        assert self.table is not None
        return self.table.apply(self._format_column)

    def _format_column(self, col: pd.Series) -> pd.Series:
        """Numbers with ``digits`` significant digits, blank where missing.

        p-value columns (``Pr(...)``) as R's ``format.pval`` (``< 2e-16``, never ``0``).
        """
        if not pd.api.types.is_numeric_dtype(col):
            return col.fillna("").astype(str)
        if str(col.name).startswith("Pr("):
            from mixedmodels.rformat import format_pval

            values = col.to_numpy(dtype=float)
            text = format_pval(values, digits=max(1, self.digits - 1), na_form="")
            return pd.Series(text, index=col.index, name=col.name)
        return col.map(lambda v: format_number(v, self.digits))

    def _rows(self) -> tuple[list[str], list[list[str]]]:
        """Header and body cells (index first when shown), as strings."""
        frame = self._formatted()
        header = [str(c) for c in frame.columns]
        body = [[str(v) for v in row] for row in frame.to_numpy()]
        if self.index:
            header = [str(frame.index.name or ""), *header]
            body = [[str(label), *row] for label, row in zip(frame.index, body, strict=True)]
        return header, body


@dataclass(frozen=True, repr=False)
class Report(Rendered):
    """An ordered list of sections with a heading and notes.

    Rendered to text, HTML, Markdown or LaTeX.

    Attributes
    ----------
    heading
        First line (title) of the report.
    sections
        The blocks, in order.
    notes
        Messages the reader must not miss (singular fit, convergence, dropped columns, ML
        refits); shown last, highlighted in HTML.
    """

    heading: str
    sections: tuple[Section, ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = ()

    @classmethod
    def from_frame(
        cls,
        heading: str,
        table: pd.DataFrame,
        *,
        lines: tuple[str, ...] = (),
        notes: tuple[str, ...] = (),
        index: bool = True,
        digits: int = 4,
    ) -> Report:
        """A report of one table (anova, likelihood-ratio tests, intervals).

        Parameters
        ----------
        heading
            Title of the report.
        table
            The table; its index is shown as row names when ``index``.
        lines
            Text shown above the table (e.g. the models compared).
        notes
            Highlighted messages shown below the table.
        index, digits
            As in :class:`Section`.
        """
        section = Section(lines=tuple(lines), table=table, index=index, digits=digits)
        return cls(heading=heading, sections=(section,), notes=tuple(notes))

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
        if self.notes:
            out.append("")
            out.extend(f"Note: {note}" for note in self.notes)
        return "\n".join(out)

    def to_html(self) -> str:
        """HTML rendering for Jupyter; notes in a highlighted box."""
        parts = [f"<div class='mixedmodels-report'><strong>{html.escape(self.heading)}</strong>"]
        for section in self.sections:
            if section.title:
                parts.append(f"<p><em>{html.escape(section.title)}</em></p>")
            if section.lines:
                parts.append("<pre>" + html.escape("\n".join(section.lines)) + "</pre>")
            if section.table is not None:
                parts.append(section._formatted().to_html(index=section.index, escape=True))
        for note in self.notes:
            parts.append(
                f"<div class='mixedmodels-note' style='{_NOTE_STYLE}'>"
                f"<strong>Note:</strong> {html.escape(note)}</div>"
            )
        parts.append("</div>")
        return "\n".join(parts)

    def to_markdown(self) -> str:
        """Markdown rendering (pipe tables; notes as block quotes)."""
        out = [f"**{self.heading}**"]
        for section in self.sections:
            out.append("")
            if section.title:
                out.append(f"*{section.title}*")
                out.append("")
            if section.lines:
                out.extend(f"{line}  " for line in section.lines)
            if section.table is not None:
                if section.lines:
                    out.append("")
                header, body = section._rows()
                cells = [[cell.replace("|", "\\|") for cell in row] for row in [header, *body]]
                out.append("| " + " | ".join(cells[0]) + " |")
                out.append("|" + "|".join("---" for _ in header) + "|")
                out.extend("| " + " | ".join(row) + " |" for row in cells[1:])
        for note in self.notes:
            out.extend(["", f"> **Note:** {note}"])
        return "\n".join(out)

    def to_latex(self) -> str:
        """LaTeX rendering: a fragment of ``tabular`` environments (no packages needed)."""
        out = [rf"\textbf{{{latex_escape(self.heading)}}}\par"]
        for section in self.sections:
            out.append(r"\medskip")
            if section.title:
                out.append(rf"\emph{{{latex_escape(section.title)}}}\par")
            out.extend(rf"{latex_escape(line)}\par" for line in section.lines)
            if section.table is not None:
                header, body = section._rows()
                align = ("l" if section.index else "") + "r" * (len(header) - section.index)
                out.append(rf"\begin{{tabular}}{{{align}}}")
                out.append(r"\hline")
                out.append(" & ".join(latex_escape(c) for c in header) + r" \\")
                out.append(r"\hline")
                out.extend(" & ".join(latex_escape(c) for c in row) + r" \\" for row in body)
                out.append(r"\hline")
                out.append(r"\end{tabular}\par")
        for note in self.notes:
            out.append(rf"\medskip\textbf{{Note:}} {latex_escape(note)}\par")
        return "\n".join(out)
