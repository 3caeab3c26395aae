"""User dictionaries (HanLP's dict_force / dict_combine, entity whitelists) on an Aho-Corasick automaton."""
from typing import Any, Dict, Iterable, List, Mapping, Optional, Set, Tuple, Union

import ahocorasick


class Dictionary:
    """Entries (strings, optionally with a value) matched in one pass over a text."""

    def __init__(self, entries: Union[Mapping[str, Any], Iterable[str], None] = None):
        items = entries.items() if isinstance(entries, Mapping) else ((e, None) for e in (entries or []))
        self.entries: Dict[str, Any] = {k: v for k, v in items if k and not k.isspace()}
        self._automaton: Optional[ahocorasick.Automaton] = None
        if self.entries:
            self._automaton = ahocorasick.Automaton()
            for key, value in self.entries.items():
                self._automaton.add_word(key, (len(key), value))
            self._automaton.make_automaton()

    def __len__(self) -> int:
        return len(self.entries)

    def longest_matches(self, text: str, starts: Optional[Set[int]] = None,
                        ends: Optional[Set[int]] = None) -> List[Tuple[int, int, Any]]:
        """Non-overlapping (start, end, value) matches, leftmost-longest first; only
        matches that start in ``starts`` and end in ``ends`` (character offsets) if given."""
        if self._automaton is None or not text:
            return []
        found = []
        for last, (length, value) in self._automaton.iter(text):
            start, end = last + 1 - length, last + 1
            if (starts is None or start in starts) and (ends is None or end in ends):
                found.append((start, end, value))
        found.sort(key=lambda m: (m[0], -(m[1] - m[0])))
        chosen, reach = [], 0
        for start, end, value in found:
            if start >= reach:
                chosen.append((start, end, value))
                reach = end
        return chosen
