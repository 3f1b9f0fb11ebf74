"""Open-vocabulary building blocks shared by counterfactual swaps and instance synthesis.

Why: a closed list of values lets a model memorise them instead of reading the text. Invented words (in
the shape of real ones) and common English words give values no list enumerates. ``pool_of`` splits any
invented value into the train or the eval side by a hash, so the two sides can never share one.
"""

from __future__ import annotations

import hashlib
import random
from functools import lru_cache

__all__ = ["common_words", "invented_word", "pool_of"]

_ONSETS = ("b", "br", "c", "d", "dr", "f", "g", "gr", "h", "j", "k", "l", "m", "n", "p", "qu", "r", "s", "st",
           "t", "tr", "v", "w", "z", "sh", "th")
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ea", "io", "ou")
_CODAS = ("", "", "n", "r", "l", "s", "th", "x", "nd", "rk", "m")


@lru_cache(maxsize=None)
def common_words() -> tuple[str, ...]:
    """Common English words (Faker's lorem list, a dependency already), alphabetic and 4+ letters."""
    from faker.providers.lorem.en_US import Provider

    return tuple(w for w in Provider.word_list if len(w) >= 4 and w.isalpha())


def invented_word(rng: random.Random) -> str:
    """A pronounceable invented lower-case word of 2-3 syllables ("brailox", "tiovand")."""
    syllables = rng.randint(2, 3)
    return "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(syllables - 1)) + \
        rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)


def pool_of(value: str) -> str:
    """The side ("train" or "eval") an invented value belongs to: a hash, so the sides never share one."""
    digest = hashlib.sha1(value.casefold().encode("utf-8")).digest()
    return "eval" if digest[0] % 4 == 0 else "train"
