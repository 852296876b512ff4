"""jieba's default dictionary served from a memory-mapped trie instead of a Python dict.

jieba keeps its 349k words and their prefixes (498k keys) in a dict, ``jieba.dt.FREQ``: about
63 MiB of Python objects in every process that segments Chinese, loaded from its cache at each
start. A model worker only looks words up in it (``in``, ``[]``, ``get``), so the same keys and
frequencies are written once, at build time, to ``<models_dir>/jieba-<key>/``: a MARISA trie of
the keys (``marisa-trie``) and their frequencies as 32-bit integers in the trie's key order.
Served memory-mapped, the files (3.3 MB) are shared by the workers of a node, and jieba
segments exactly as before (same keys, same frequencies, same total).

``key`` hashes jieba's dictionary file and ``FORMAT``: a jieba release with another dictionary
builds again.
"""

from __future__ import annotations

import array
import hashlib
import json
import logging
import mmap
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import jieba
import marisa_trie

from runtime.build_lock import NotBuilt, build_lock

log = logging.getLogger(__name__)

FORMAT = 1  # the files' layout below; a change builds again
TRIE, FREQS, META = "words.marisa", "freqs.u32", "meta.json"


class TrieFreq(Mapping[str, int]):
    """``jieba.Tokenizer.FREQ`` read from the built files: the lookups jieba makes, no copies."""

    def __init__(self, folder: Path) -> None:
        self._trie = marisa_trie.Trie()
        self._trie.mmap(str(folder / TRIE))
        with (folder / FREQS).open("rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        self._freqs = memoryview(self._map).cast("I")  # Python ints, as the dict held

    def __getitem__(self, word: str) -> int:
        return self._freqs[self._trie.key_id(word)]  # KeyError for an unknown word, as a dict

    def __contains__(self, word: object) -> bool:
        return word in self._trie

    def get(self, word: str, default: int | None = None) -> int | None:  # type: ignore[override]
        try:  # jieba asks ``get`` for words it found in the dictionary: a miss is the rare case
            return self._freqs[self._trie.key_id(word)]
        except KeyError:
            return default

    def __iter__(self) -> Iterator[str]:
        return iter(self._trie.keys())

    def __len__(self) -> int:
        return len(self._trie)


def dictionary_key() -> str:
    """jieba's dictionary file (the one ``jieba.dt`` loads) and this module's ``FORMAT``."""
    digest = hashlib.sha256(f"{FORMAT}|".encode())
    with jieba.dt.get_dict_file() as f:
        digest.update(f.read())
    return digest.hexdigest()[:16]


def build_dictionary(folder: Path) -> None:
    """Write the trie and frequencies of jieba's default dictionary into ``folder`` (atomically:
    a temporary folder renamed)."""
    freq, total = jieba.Tokenizer.gen_pfdict(jieba.dt.get_dict_file())
    trie = marisa_trie.Trie(freq)
    tmp = folder.with_name(f"{folder.name}.{os.getpid()}.tmp")
    tmp.mkdir(parents=True)
    trie.save(str(tmp / TRIE))
    freqs = [0] * len(trie)
    for word, key_id in trie.iteritems():
        freqs[key_id] = freq[word]
    (tmp / FREQS).write_bytes(array.array("I", freqs).tobytes())
    (tmp / META).write_text(json.dumps({"total": total, "words": len(freq)}), encoding="utf-8")
    os.replace(tmp, folder)
    log.info("built jieba's dictionary as a trie in %s: %d words and prefixes", folder, len(trie))


def serve_dictionary(models_dir: Path, *, build: bool = True) -> None:
    """Make ``jieba.dt`` (the dictionary every jieba user in this process reads, spaCy's Chinese
    tokenizer included) look words up in the built files; built first (once, under the build
    lock) if ``build``, else ``NotBuilt`` when missing. Call before anything initialises jieba."""
    if jieba.dt.initialized:
        return  # already loaded (as a dict, or from the files)
    folder = Path(models_dir) / f"jieba-{dictionary_key()}"
    if not (folder / META).exists():
        if not build:
            raise NotBuilt(f"no jieba dictionary in {folder}")
        with build_lock(Path(models_dir)):
            if not (folder / META).exists():  # not made while this process waited
                build_dictionary(folder)
    meta = json.loads((folder / META).read_text(encoding="utf-8"))
    jieba.dt.FREQ = TrieFreq(folder)
    jieba.dt.total = int(meta["total"])
    jieba.dt.initialized = True  # what initialize() would load is in place
