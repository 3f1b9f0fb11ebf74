"""The curated value lists of counterfactual swaps, split by hand into a train and an eval pool.

Why a module of its own: synthesis (slot-free) and counterfactual swaps (which use slot) both need the
eval pool, the held-out vocabulary that no training row may contain.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["CURATED", "eval_pool_values", "holds_eval_value"]

# Curated lists, split by hand so each value belongs to one pool. The E2E values the dev file lacks
# (pub, restaurant, French, Italian, Japanese, Indian, Fast food) are in the train pool: they are what
# real E2E-style text says, so training must see them.
CURATED: dict[str, dict[str, tuple[str, ...]]] = {
    "venue_kind": {
        "train": ("pub", "restaurant", "bar", "wine bar", "bistro", "canteen", "trattoria", "steakhouse",
                  "pizzeria", "burger joint", "juice bar", "bakery", "deli", "sushi bar", "taqueria",
                  "beer garden", "cocktail lounge", "creperie", "ramen shop", "fish and chip shop", "inn",
                  "food hall", "tapas bar", "grill", "noodle house", "pancake house", "wine cellar"),
        "eval": ("tavern", "noodle bar", "tea room", "brasserie", "gastropub", "food truck", "diner",
                 "cafeteria", "oyster bar", "dumpling house", "smokehouse", "espresso bar", "cantina"),
    },
    "cuisine": {
        "train": ("French", "Italian", "Japanese", "Indian", "Fast food", "Thai", "Mexican", "Spanish",
                  "Greek", "Turkish", "Lebanese", "Korean", "Vietnamese", "Ethiopian", "Brazilian",
                  "Moroccan", "Caribbean", "German", "Polish", "Russian", "Persian", "vegetarian", "seafood",
                  "Mediterranean", "street food", "barbecue", "Cajun", "Sichuan", "Welsh", "Scottish"),
        "eval": ("Peruvian", "Georgian", "Malaysian", "Nepalese", "Argentinian", "Hungarian", "Cuban",
                 "Filipino", "Sri Lankan", "Portuguese", "Afghan", "Jamaican", "Indonesian", "Tibetan",
                 "vegan", "Basque"),
    },
    "area": {
        "train": ("old town", "harbour", "waterfront", "university district", "financial district",
                  "seafront", "east end", "market square", "north side", "lakeside", "hillside", "suburbs",
                  "docklands", "station quarter", "town centre", "south bank", "village"),
        "eval": ("cathedral quarter", "marina", "canal side", "west end", "airport area", "arts district",
                 "high street", "village green", "old port"),
    },
}


@lru_cache(maxsize=None)
def eval_pool_values() -> frozenset[str]:
    """The curated values of the eval pool, casefolded: a training mix drops any row whose gold holds one
    (a synthetic row can carry, say, "vegan" on its own)."""
    return frozenset(v.casefold() for values in CURATED.values() for v in values["eval"])


def holds_eval_value(text: str) -> bool:
    """Whether ``text`` contains any eval-pool value (casefolded substring: "Marina Rossi" holds "marina")."""
    folded = text.casefold()
    return any(value in folded for value in eval_pool_values())
