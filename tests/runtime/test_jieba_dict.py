"""jieba's dictionary served from the built trie segments exactly as jieba's own dict: the NLU
model and the index were built with the dict, so any difference would change answers."""

from __future__ import annotations

import subprocess
import sys
from collections import ChainMap
from pathlib import Path

import jieba
import pytest

from retrieval.evaluate import load_dev
from retrieval.lexicon import JIEBA_WORDS
from retrieval.text import FreqOverlay
from runtime.jieba_dict import TrieFreq, build_dictionary, dictionary_key
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("models") / f"jieba-{dictionary_key()}"
    build_dictionary(folder)
    return folder


def _tokenizers(folder: Path) -> tuple[jieba.Tokenizer, jieba.Tokenizer]:
    as_dict = jieba.Tokenizer()
    as_dict.initialize()
    as_trie = jieba.Tokenizer()
    as_trie.FREQ, as_trie.total, as_trie.initialized = TrieFreq(folder), as_dict.total, True
    return as_dict, as_trie


def test_the_trie_holds_every_word_and_prefix_with_its_frequency(built: Path) -> None:
    as_dict, as_trie = _tokenizers(built)
    trie = as_trie.FREQ
    assert len(trie) == len(as_dict.FREQ)
    assert all(trie[word] == freq for word, freq in as_dict.FREQ.items())
    assert "签证" in trie and "不是一个词吧" not in trie and trie.get("不是一个词吧") is None
    with pytest.raises(KeyError):
        trie["不是一个词吧"]


def test_segmentation_is_the_same_with_domain_words_too(built: Path) -> None:
    texts = [row.q for row in load_dev()] + [
        path.read_text(encoding="utf-8") for path in sorted((ROOT / "knowledge").rglob("*.yaml"))[:60]]
    as_dict, as_trie = _tokenizers(built)
    # The analyser's overlay of domain words (retrieval/text.py) on the trie, a ChainMap on the dict.
    as_dict.FREQ, as_trie.FREQ = ChainMap({}, as_dict.FREQ), FreqOverlay(as_trie.FREQ)
    for tokenizer in (as_dict, as_trie):
        for word in JIEBA_WORDS:
            tokenizer.add_word(word, freq=20000)
    for text in texts:
        assert list(as_trie.cut(text)) == list(as_dict.cut(text))
        assert list(as_trie.cut(text, HMM=False)) == list(as_dict.cut(text, HMM=False))
        assert list(as_trie.cut_for_search(text)) == list(as_dict.cut_for_search(text))


SERVE = """
import sys
from collections import ChainMap
from pathlib import Path
import jieba
from runtime.build_lock import NotBuilt
from runtime.jieba_dict import serve_dictionary
try:
    serve_dictionary(Path(sys.argv[1]), build=False)
except NotBuilt:
    print("not built")
serve_dictionary(Path(sys.argv[1]))
print(type(jieba.dt.FREQ).__name__, "/".join(jieba.cut("我想办理签证延期")))
"""


def test_a_worker_without_the_files_is_told_then_a_build_makes_them(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", SERVE, str(tmp_path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=True)
    assert done.stdout.split("\n")[:2] == ["not built", "TrieFreq 我/想/办理/签证/延期"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("jieba-")] == [f"jieba-{dictionary_key()}"]
