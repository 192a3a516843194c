"""A denied-party list for the benchmark: 10,000 made-up rows in the published CSL format.

The names are made of syllables no seeded account holder has, so every
screening misses (the usual case) after rapidfuzz has compared it with every
name and alias.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

COLUMNS = ("_id", "source", "entity_number", "type", "programs", "name", "title", "addresses",
           "alt_names", "citizenships", "nationalities")
SOURCES = ("Entity List (EL) - Bureau of Industry and Security",
           "Specially Designated Nationals (SDN) - Treasury Department",
           "Denied Persons List (DPL) - Bureau of Industry and Security")
_SYLLABLES = ("zor", "glu", "bak", "vex", "quo", "tri", "lum", "dra", "kos", "nim", "yat",
              "pog", "rux", "sel", "wim", "hax", "jeb", "fud", "cyr", "oth")


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def write_list(path: Path, rows: int = 10_000) -> Path:
    """ROWS entities and individuals, a third of them with an alias."""
    rng = random.Random(23)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for n in range(rows):
            entity = n % 2 == 0
            name = (f"{_word(rng)} {_word(rng)} Trading Co." if entity
                    else f"{_word(rng).upper()}, {_word(rng)}")
            alias = f"{_word(rng)} {_word(rng)}" if n % 3 == 0 else ""
            writer.writerow([n + 1, SOURCES[n % len(SOURCES)], "", "Entity" if entity else
                             "Individual", "", name, "", f"{n} Nowhere Road", alias, "", ""])
    return path
