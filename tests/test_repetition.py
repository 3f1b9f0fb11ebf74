"""The repetition guard's JSON scanner, by hand-worked prefixes (no model)."""

from __future__ import annotations

import pytest

from slot.engine.cpu.guards.repetition import item_repeats, opens_repeated_item


@pytest.mark.parametrize("prefix, expected", [
    ('{"a":["x","x"', 2),
    ('{"a":["x","y","x"', 2),             # not only adjacent items
    ('{"a":["x","y"', 1),
    ('{"a":[1,1,1', 3),
    ('{"a":[{"k":1},{"k":1}', 2),          # object items compared as text
    ('{"a":[[1,2],[1,2]', 2),             # nested arrays: the innermost open one is the outer list
    ('{"a":["x","x', 0),                  # inside a string: a comma there is text
    ('{"a":["x,x","x,x"', 2),             # commas inside strings do not split items
    ('{"a":["q\\"","q\\""', 2),            # escaped quotes
    ('{"a":1', 0),                         # innermost container is an object
    ('{"a":["x","x"],"b":"x"', 0),         # the array is closed
    ('[', 0),
    ('', 0),
])
def test_item_repeats(prefix, expected):
    assert item_repeats(prefix) == expected


def test_opens_repeated_item_looks_at_the_comma_inside_the_token():
    context = '{"a":["x","x'
    assert opens_repeated_item(context, '","', 2)       # closes the 2nd "x" and opens a 3rd item
    assert not opens_repeated_item(context, '","', 3)
    assert not opens_repeated_item(context, '"]', 1)    # no comma: closing is always fine
    assert not opens_repeated_item('{"a":["x', ', y', 1)  # a comma inside the string value
