"""dlbook.show: listings of the library's code without long docstrings."""

import pytest

from dlbook import show
from dlbook.show import show_source


def _example(x: int) -> int:
    """Add one.

    A long derivation
    that readers of the listing do not need.
    """

    def inner() -> int:
        """An inner helper.

        More words.
        """
        return 1

    return x + inner()


def test_long_docstrings_shrink_to_their_summary() -> None:
    listing = show_source(_example)
    assert '"""Add one."""' in listing.text and '"""An inner helper."""' in listing.text
    assert "derivation" not in listing.text and "More words" not in listing.text
    assert "return x + inner()" in listing.text
    compile(listing.text, "<listing>", "exec")  # still valid Python


def test_docstring_true_keeps_everything() -> None:
    assert "A long derivation" in show_source(_example, docstring=True).text


def test_displays_as_python_markdown_with_a_stable_plain_text() -> None:
    listing = show_source(show_source)
    assert listing._repr_markdown_().startswith("```python\ndef show_source(")
    assert repr(listing) == "<source of dlbook.show.show_source>"


def test_objects_without_source_are_refused_clearly() -> None:
    with pytest.raises(TypeError, match="no source"):
        show_source(len)


def test_module_doctest_example() -> None:
    assert show.__doc__ and "show_source" in show.__doc__
