"""The split's pure parts: near-duplicate grouping and the stable, seeded side assignment."""

import hashlib
from collections import Counter
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from preprocessing.dataset import near_duplicate_groups
from preprocessing.split import Item, _assign


def test_groups_are_transitive_so_a_chain_of_near_duplicates_stays_together():
    a = 0
    b = 0b111  # 3 bits from a
    c = 0b111111  # 3 bits from b, 6 from a
    far = 0xFFFF_FFFF_0000_0000
    groups = near_duplicate_groups([f"{h:016x}" for h in (a, far, b, c)], threshold=3)
    assert groups[0] == groups[2] == groups[3] != groups[1]


def pseudo_phash(key: int) -> int:
    """A perceptual hash far from every other key's (as distinct photos have)."""
    return int(hashlib.sha256(str(key).encode()).hexdigest()[:16], 16)


def make_item(n: int, label: str, phash: int, content: str) -> Item:
    return Item(
        label,
        f"{n}.png",
        Path(f"{n}.png"),
        hashlib.sha256(content.encode()).hexdigest(),
        f"{phash:016x}",
    )


labels = st.sampled_from(["cat", "dog", "bird"])


@settings(max_examples=80, deadline=None)
@given(
    first=st.lists(labels, min_size=1, max_size=60),
    later=st.lists(st.tuples(labels, st.one_of(st.none(), st.integers(0, 59))), max_size=30),
    seed=st.integers(0, 10),
    ratio=st.sampled_from([0.2, 0.25, 0.5]),
)
def test_assignment_is_stratified_seeded_and_keeps_earlier_sides(first, later, seed, ratio):
    old = [make_item(n, label, pseudo_phash(n), f"old{n}") for n, label in enumerate(first)]
    sides_old, _ = _assign(old, near_duplicate_groups([i.phash for i in old], 6), {}, ratio, seed)
    assert (
        _assign(old, near_duplicate_groups([i.phash for i in old], 6), {}, ratio, seed)[0]
        == sides_old
    )

    sizes = Counter(item.label for item in old)
    tests = Counter(item.label for item, side in zip(old, sides_old, strict=True) if side == "test")
    for label, size in sizes.items():
        assert tests[label] == int(ratio * size + 0.5)

    # add new pictures and near copies of old ones (new names, new content)
    added = []
    for n, (label, copy_of) in enumerate(later, start=len(old)):
        if copy_of is None:
            added.append(make_item(n, label, pseudo_phash(n), f"new{n}"))
        else:
            original = old[copy_of % len(old)]
            added.append(make_item(n, original.label, int(original.phash, 16) ^ 0b101, f"copy{n}"))
    grown = old + added
    previous = {item.sha256: side for item, side in zip(old, sides_old, strict=True)}
    sides_new, _ = _assign(
        grown, near_duplicate_groups([i.phash for i in grown], 6), previous, ratio, seed
    )

    assert sides_new[: len(old)] == sides_old  # nothing split before moves
    for n, (_, copy_of) in enumerate(later, start=len(old)):
        if copy_of is not None:  # a near copy joins its original's side
            assert sides_new[n] == sides_old[copy_of % len(old)]
