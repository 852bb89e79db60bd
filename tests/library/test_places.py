"""Offline reverse geocoding from the package's own table: cities, towns beside them, open sea."""

from library.places import Place, places


def test_places_from_the_bundled_table():
    found = places(
        [
            (-33.8568, 151.2153),  # the Sydney Opera House: nearest point "The Rocks", a district
            (48.87, 2.30),  # Paris 8e: nearest point the suburb Levallois-Perret
            (48.8049, 2.1204),  # Versailles: a town of its own beside Paris
            (-22.9068, -43.1729),
            (0.0, -30.0),  # the middle of the Atlantic
        ]
    )
    assert found == [
        Place("Sydney", "Australia"),
        Place("Paris", "France"),
        Place("Versailles", "France"),
        Place("Rio de Janeiro", "Brazil"),
        None,
    ]
    assert str(found[0]) == "Sydney, Australia"
    assert places([]) == []
