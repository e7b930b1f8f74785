"""A small Okapi BM25 ranker over short documents (section headings, alert names, symptoms)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from opsbook.runbooks.names import split_words


def _words(text: str) -> frozenset[str]:
    """A set of words written as one space-separated string."""
    return frozenset(text.split())


_STOP = _words("""a an and are as at be by for from has have in is it of on or that the this to
was were will with when not no if than then there these those its into per via""")


def tokens(text: str) -> list[str]:
    """Lower-case word tokens with CamelCase split and stop words removed."""
    out: list[str] = []
    for chunk in re.findall(r"[A-Za-z0-9]+", text):
        for w in split_words(chunk) or [chunk.lower()]:
            if len(w) > 1 and w not in _STOP:
                out.append(w)
    return out


class BM25:
    """Okapi BM25 (k1=1.2, b=0.75) over pre-tokenised documents."""

    def __init__(self, docs: Sequence[list[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.tf = [Counter(d) for d in docs]
        self.len = [len(d) for d in docs]
        self.avg = (sum(self.len) / len(docs)) if docs else 0.0
        df: Counter[str] = Counter()
        for d in docs:
            df.update(set(d))
        n = len(docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def score(self, query: list[str], i: int) -> float:
        """BM25 score of document ``i`` for the query tokens."""
        tf, length = self.tf[i], self.len[i]
        total = 0.0
        for term in set(query):
            f = tf.get(term, 0)
            if not f:
                continue
            norm = f + self.k1 * (1 - self.b + self.b * length / (self.avg or 1))
            total += self.idf.get(term, 0.0) * f * (self.k1 + 1) / norm
        return total
