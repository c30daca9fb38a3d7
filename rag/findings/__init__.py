"""One module per kind of finding (PTP edit, MUE, code, modifier): each builds its typed finding, its citation
and its sentence in one place, for answers, claim checks and code pages alike."""
