"""The guarded block parser gives exactly the tokens of markdown-it with the same rules: on
the world corpus, the seeds, the examples and on generated Markdown-like and arbitrary text."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from opsbook.runbooks.blockparse import block_parser, plain_parser
from tests.support.big_runbook import generated_runbook
from tests.unit.runbooks.conftest import EXAMPLES, SEEDS
from tests.unit.runbooks.test_properties import markdownish

_CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "world_runbooks"
_PAIRS = [(block_parser(setext=s), plain_parser(setext=s)) for s in (False, True)]


def _tokens(md: MarkdownIt, text: str) -> list[tuple[object, ...]]:
    return [
        (t.type, t.tag, t.map, t.level, t.nesting, t.content, t.info, t.markup, t.hidden)
        for t in md.parse(text)
    ]


def _same(text: str) -> None:
    for guarded, plain in _PAIRS:
        assert _tokens(guarded, text) == _tokens(plain, text)


def test_documents_tokenize_alike() -> None:
    files = [*_CORPUS.rglob("*.md"), *SEEDS.glob("*.txt"), *EXAMPLES.rglob("*.md")]
    assert len(files) >= 60
    for f in files:
        _same(f.read_text(encoding="utf-8"))
    _same(generated_runbook(2_000)[0])


_EDGES = [
    "a\n| b |\n|---|\n| c |\n",  # a table under a paragraph line
    "- a\n    - b\n        code\n",
    "> - a\n> ```\n> x\n",
    "1. a\n2) b\n- c\n+ d\n",
    "\t# tab heading\n\t\tcode\n",
    "para\n---\n",
    "para\n===\n",
    "   ```\n  x\n ```\n",
    "#\n##\n####### seven\n",
    "***\n___\n- - -\n",
    "|a|\n|-|\n\n|x|y|\n|:-:|--:|\n|1|2|3|\n",
]


def test_edge_cases_tokenize_alike() -> None:
    for text in _EDGES:
        _same(text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markdownish)
def test_markdown_like_text_tokenizes_alike(text: str) -> None:
    _same(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("#`~>*-_=+1.)|: \t\nab"), max_size=120))
def test_block_characters_tokenize_alike(text: str) -> None:
    _same(text)
