"""The bibliography as the text cites it: author-year labels, and links back to the citations.

* Labels. The text cites "Brown et al. (2020)" (``bibtex_reference_style:
  author_year``); pybtex's default ``alpha`` labels would list that work as
  [BMR+20]. The formatting style ``dlbook`` (``bibtex_default_style: dlbook`` in
  ``_config.yml``) labels each entry the way the text cites it: [Brown et al., 2020],
  [Kingma and Ba, 2015], [Goodfellow, 2016]; two works with one label get 2020a, 2020b.
* Backlinks. sphinxcontrib-bibtex links a citation to its entry, and back only when
  both sit on one page. The bibliography of this book is a page of its own, so each
  entry gets a line "Cited in: <page>, <page> (2)" linking to every place that cites it.
"""

from __future__ import annotations

import re
from collections import Counter

from docutils import nodes
from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle


def _plain(latex: str) -> str:
    """A name as text: ``{\\"o}`` and ``{LeCun}`` lose their TeX markup."""
    try:
        from pybtex.richtext import Text

        return str(Text.from_latex(latex))
    except Exception:  # pragma: no cover - older pybtex
        return re.sub(r"[{}\\]", "", latex)


def _surname(person) -> str:  # noqa: ANN001 - a pybtex Person
    return _plain(" ".join(person.prelast_names + person.last_names))


def author_year(entry) -> str:  # noqa: ANN001 - a pybtex Entry
    """ "Brown et al., 2020", "Kingma and Ba, 2015", "Goodfellow, 2016"."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_surname(p) for p in people]
    if not names:
        who = _plain(entry.fields.get("organization", entry.fields.get("title", "Anon.")))
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels as the text cites: author(s) and year, with a, b, ... when two coincide."""

    def format_labels(self, sorted_entries):  # noqa: ANN001, ANN201 - pybtex API
        entries = list(sorted_entries)
        labels = [author_year(e) for e in entries]
        counts, seen = Counter(labels), Counter()
        for label in labels:
            if counts[label] > 1:
                seen[label] += 1
                yield label + "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
            else:
                yield label


class Style(UnsrtStyle):
    """pybtex's ``unsrt`` entries, sorted by author and year, with author-year labels."""

    default_label_style = "dlbook_authoryear"
    default_sorting_style = "author_year_title"


register_plugin("pybtex.style.labels", "dlbook_authoryear", AuthorYearLabelStyle)
register_plugin("pybtex.style.formatting", "dlbook", Style)


def add_backlinks(app, doctree, docname):  # noqa: ANN001 - Sphinx hook
    """After each entry of a bibliography, a line linking to every place that cites it."""
    if app.builder.format != "html":
        return
    domain = app.env.get_domain("cite")
    key_of = {c.citation_id: c.key for c in domain.citations}
    for citation in doctree.findall(nodes.citation):
        key = next((key_of[i] for i in citation["ids"] if i in key_of), None)
        if key is None:
            continue
        by_page: dict[str, list[str]] = {}
        for ref in domain.citation_refs:
            if key in {t.key for t in ref.targets}:
                by_page.setdefault(ref.docname, []).append(ref.citation_ref_id)
        if not by_page:
            continue
        para = nodes.paragraph(classes=["dlbook-backrefs"])
        para += nodes.Text("Cited in: ")
        for n, (page, ids) in enumerate(by_page.items()):
            uri = app.builder.get_relative_uri(docname, page)
            title = app.env.titles[page].astext() if page in app.env.titles else page
            if n:
                para += nodes.Text("; ")
            para += nodes.reference("", title, internal=True, refuri=f"{uri}#{ids[0]}")
            for k, ref_id in enumerate(ids[1:], start=2):
                para += nodes.Text(" ")
                para += nodes.reference("", f"({k})", internal=True, refuri=f"{uri}#{ref_id}")
        citation += para


def setup(app):  # noqa: ANN001
    app.connect("doctree-resolved", add_backlinks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
