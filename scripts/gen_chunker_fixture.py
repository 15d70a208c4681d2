#!/usr/bin/env python3
"""Generate the LangChain parity fixture for VaultIQ's recursive text splitter.

The Rust splitter in ``vaultiq-core/src/chunker/recursive_split.rs`` promises
exactly the behaviour of LangChain's ``RecursiveCharacterTextSplitter`` from
``langchain-text-splitters==1.1.3``. This script runs that real implementation
over a deterministic set of texts and settings and records, per case, the
chunks (``split_text``) and their start offsets (``create_documents`` with
``add_start_index=True``) in ``vaultiq-core/tests/fixtures/chunker_langchain.json``.
``vaultiq-core/tests/chunker_fixture.rs`` replays every case against the Rust
code.

Usage::

    python scripts/gen_chunker_fixture.py          # (re)write the fixture
    python scripts/gen_chunker_fixture.py --check  # verify the committed fixture

``--check`` regenerates in memory and exits 1 (with a summary of what differs)
if the committed file is not byte-identical, so a fixture edited by hand, or a
change to this script that was not followed by a regeneration, is caught.

Requires ``langchain-text-splitters==1.1.3`` (scripts/python-env creates a venv with it).
All texts are built here, deterministically (``random.Random`` with fixed
seeds only); nothing is read from outside.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

PINNED_VERSION = "1.1.3"
REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURE = REPO_ROOT / "vaultiq-core" / "tests" / "fixtures" / "chunker_langchain.json"


# --------------------------------------------------------------------------
# Texts
# --------------------------------------------------------------------------

PROSE = (
    "Retrieval-augmented generation combines a search step with a language "
    "model. First, the question is embedded and compared against an index of "
    "document chunks; the closest chunks are then handed to the model as "
    "context. The quality of the answer depends heavily on how the documents "
    "were cut into chunks in the first place.\n\n"
    "Chunks that are too small lose the surrounding context, while chunks that "
    "are too large dilute the signal and waste the model's context window. A "
    "recursive splitter tries to respect the natural structure of the text: it "
    "prefers paragraph breaks, then line breaks, then spaces, and only as a "
    "last resort cuts in the middle of a word.\n\n"
    "Overlap between consecutive chunks helps when an answer straddles a "
    "boundary. It is not free, though: every overlapping character is stored "
    "and embedded twice."
)

MARKDOWN = """# VaultIQ Operations Guide

## Installation

1. Download the release archive.
2. Unpack it into `/opt/vaultiq`.
3. Run `vaultiq init --data-dir /var/lib/vaultiq`.

## Configuration

| Key            | Default | Description                       |
|----------------|---------|-----------------------------------|
| `chunk_size`   | 1000    | Maximum characters per chunk      |
| `chunk_overlap`| 200     | Characters shared between chunks  |
| `top_k`        | 5       | Number of chunks given to the LLM |

### Notes

- Keep `chunk_overlap` below `chunk_size`.
- Re-index after changing either value:
  - `vaultiq reindex --all`
  - or per source: `vaultiq reindex --source wiki`

> **Warning:** re-indexing a large corpus can take hours.

```toml
[chunker]
chunk_size = 1000
chunk_overlap = 200
```
"""

RUST_CODE = r'''use std::collections::HashMap;

/// A tiny in-memory inverted index.
pub struct Index {
    postings: HashMap<String, Vec<usize>>,
}

impl Index {
    pub fn new() -> Self {
        Self { postings: HashMap::new() }
    }

    pub fn add(&mut self, doc: usize, text: &str) {
        for word in text.split_whitespace() {
            self.postings.entry(word.to_lowercase()).or_default().push(doc);
        }
    }

    pub fn search(&self, word: &str) -> &[usize] {
        self.postings.get(&word.to_lowercase()).map_or(&[], |v| v.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_words() {
        let mut idx = Index::new();
        idx.add(1, "Hello World");
        assert_eq!(idx.search("hello"), &[1]);
    }
}
'''

PYTHON_CODE = '''import dataclasses
from typing import Iterable


@dataclasses.dataclass
class Chunk:
    """A piece of a document."""

    doc_id: str
    text: str
    start: int


def sliding_window(text: str, size: int, step: int) -> Iterable[Chunk]:
    if size <= 0 or step <= 0:
        raise ValueError("size and step must be positive")
    for start in range(0, max(len(text) - size, 0) + 1, step):
        yield Chunk(doc_id="doc", text=text[start:start + size], start=start)


if __name__ == "__main__":
    for chunk in sliding_window("abcdefghij" * 3, size=8, step=5):
        print(chunk.start, repr(chunk.text))
'''

LONG_LINE_NO_SPACES = "".join(
    f"{i:04d}-" + "abcdefghijklmnopqrstuvwxyz"[i % 26] * 7 for i in range(110)
)

LONG_WORDS = " ".join(
    [
        "Pneumonoultramicroscopicsilicovolcanoconiosis",
        "x" * 60,
        "short",
        "Donaudampfschifffahrtselektrizitätenhauptbetriebswerkbauunterbeamtengesellschaft",
        "y" * 120,
        "a",
        "https://example.com/a/very/long/path/that/never/ends/with/a/space/in/it?query=1&other=2",
        "z" * 199,
        "w" * 200,
        "v" * 201,
        "end.",
    ]
)

CJK = (
    "検索拡張生成は、検索と言語モデルを組み合わせる手法です。まず質問を埋め込み、"
    "文書の断片の索引と比較します。最も近い断片がモデルに文脈として渡されます。\n\n"
    "檢索增強生成結合了搜尋步驟與語言模型。首先將問題嵌入，並與文件片段的索引進行比較；"
    "然後將最接近的片段作為上下文交給模型。答案的品質很大程度上取決於文件最初是如何被切分的。\n"
    "한국어 문장도 포함됩니다. 검색 증강 생성은 검색과 언어 모델을 결합합니다.\n"
    "全角スペース\u3000を含む行\u3000です。"
)

EMOJI = (
    "Status: ✅ done 🎉🎉 party time! 👩\u200d💻 writes code, 👨\u200d👩\u200d👧\u200d👦 "
    "family, flags 🇩🇪🇫🇷🇯🇵, skin tones 👍🏽👍🏿.\n"
    + "😀😃😄😁😆😅🤣😂🙂🙃" * 8
    + "\n\n"
    + "Mixed 🚀 text 🌍 with 🔥 emoji 💡 between 🧠 every 📚 word 🎯 here.\n"
    + "🏳️\u200d🌈 " * 10
)

COMBINING = (
    "Cafe\u0301 na\u0131\u0308ve re\u0301sume\u0301 — decomposed accents.\n"
    "Z\u0351\u0358a\u0352\u0353l\u0354\u0355g\u0356\u0357o\u0359 "
    + "t\u0300\u0301\u0302\u0303e\u0304\u0305\u0306x\u0307\u0308t " * 12
    + "\n\nHangul jamo: \u1100\u1161\u11a8 \u1100\u1161\u11a8 and precomposed 각 각.\n"
    + "Devanagari: नमस्ते दुनिया, क्षत्रिय, श्रीमान्।"
)

WINDOWS_CRLF = (
    "Line one of a Windows file.\r\nLine two follows.\r\nLine three is a little "
    "bit longer than the others so it may need splitting.\r\n\r\n"
    "Second paragraph starts here.\r\nIt has two lines.\r\n\r\n\r\n"
    "Third paragraph after two blank lines.\r\n"
)

BLANK_LINE_RUNS = (
    "Alpha paragraph with a few words in it."
    "\n\n\n\n\n"
    "Beta paragraph, a bit longer, with more words to push it past the limit of small chunks."
    "\n\n\n"
    "Gamma."
    "\n\n\n\n\n\n\n\n\n\n\n\n"
    "Delta paragraph at the end."
    "\n\n\n\n"
)

LEADING_TRAILING_WS = (
    "   \n\n \t  Leading whitespace before the first words of this text.\n\n"
    "    Indented second paragraph that keeps going for a while longer.   \n\n"
    "Last paragraph with trailing spaces and newlines.   \t \n\n\n   "
)

TABS = (
    "name\tage\tcity\tnotes\n"
    "alice\t30\tBerlin\tlikes long walks along the Spree\n"
    "bob\t25\tParis\t\t\n"
    "carol\t41\tTokyo\tworks\ton\tsearch\tquality\n"
    "\n"
    "def f():\n\tif True:\n\t\treturn 1\n\treturn 0\n"
    "\t\t\t\ttabs only line\t\t\t\t"
)

ONLY_WHITESPACE = " \t\n\n   \r\n\x0b\x0c  \n\n\n \u3000\u00a0 "

SHORT = "Hello, world. This is short."

ASCII_SEPARATORS = (
    "\x1cRecord one\x1funit a\x1funit b\x1ethe second record of the first group "
    "goes on for a while\x1d\x1c"
    "Group two\x1erecord\x1funit\x1c\x1c\x1c"
    "   trailing group with spaces and a \x1f unit separator in the middle of the line "
    "plus more words to reach a length that must be split\x1f\x1e\x1d\x1c"
)

UNICODE_WHITESPACE = (
    "\u00a0non-breaking\u00a0space\u00a0words and\u2003em\u2003spaces\u2009thin. "
    "Line\u2028separator\u2029paragraph\u2029separator and NEL\x85here. "
    "Zero\u200bwidth\u200bspace is not whitespace; neither is \ufeffBOM nor "
    "\u180emongolian vowel separator.\u205f\u202f\u3000\u1680 "
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a end\u00a0"
)

REPEATED = ("The same sentence repeats. " * 12).strip() + "\n\n" + ("abc " * 40).strip()

POEM = "\n".join(
    [
        "Two roads diverged in a yellow wood,",
        "And sorry I could not travel both",
        "And be one traveler, long I stood",
        "And looked down one as far as I could",
        "To where it bent in the undergrowth;",
        "",
        "Then took the other, as just as fair,",
        "And having perhaps the better claim,",
        "Because it was grassy and wanted wear;",
        "Though as for that the passing there",
        "Had worn them really about the same,",
    ]
)

JSON_BLOB = json.dumps(
    {
        "id": "doc-42",
        "title": "Quarterly report",
        "tags": ["finance", "q3", "internal"],
        "sections": [
            {"heading": "Summary", "body": "Revenue grew 12% quarter over quarter."},
            {"heading": "Risks", "body": "Supply chain delays; currency exposure."},
        ],
        "nested": {"a": {"b": {"c": [1, 2, 3, {"d": None, "e": True}]}}},
    },
    indent=2,
)

HTML = (
    "<!DOCTYPE html>\n<html>\n<head><title>VaultIQ</title></head>\n<body>\n"
    "<h1>Welcome</h1>\n<p>This is a <b>bold</b> statement about <a href=\"https://"
    "example.com/docs\">the docs</a>.</p>\n\n<ul>\n<li>One</li>\n<li>Two</li>\n"
    "<li>Three items in a list that goes on</li>\n</ul>\n</body>\n</html>\n"
)

MIXED_SCRIPTS = (
    "English text, then Ελληνικά κείμενα με τόνους, then русский текст с буквой ё. "
    "عربي: النص العربي يكتب من اليمين إلى اليسار. "
    "עברית: טקסט בעברית גם כן. "
    "ไทย: ภาษาไทยไม่มีช่องว่างระหว่างคำ "
    "Math: 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕒𝕤𝕥𝕣𝕒𝕝 𝒸𝒽𝒶𝓇𝓈 and 𐍈 gothic, 𓀀 hieroglyph."
)

EXACT_BOUNDARIES = " ".join("b" * n for n in (29, 30, 31, 49, 50, 51, 99, 100, 101, 1, 2, 3))

SPACE_RUNS = (
    "a" + " " * 10 + "b" + " " * 45 + "c" * 20 + " " * 3 + "d\n" + " " * 60 + "\n" + "e " * 30
)

LONG_PARAGRAPH_NO_NEWLINES = " ".join(
    f"word{i}" + ("," if i % 7 == 0 else "") + ("." if i % 13 == 0 else "") for i in range(160)
)


def random_text(seed: int, length: int) -> str:
    """A seeded soup of tokens chosen to stress separators and stripping."""
    rng = random.Random(seed)
    tokens = [
        "a", "bc", "def", "word", "longerword", " ", " ", " ", "  ", "\n", "\n\n",
        "\n\n\n", "\t", "\r\n", "\x1c", "\x1f", "\u3000", "\u00a0", "é", "e\u0301",
        "😀", "👩\u200d💻", "漢字", "。", ".", ", ", "-", "x" * 25,
    ]
    weights = [8, 6, 6, 6, 2, 10, 10, 10, 2, 4, 3, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1, 1, 2, 1, 2, 2, 1, 1]
    out: list[str] = []
    total = 0
    while total < length:
        tok = rng.choices(tokens, weights=weights)[0]
        out.append(tok)
        total += len(tok)
    return "".join(out)


TEXTS: list[tuple[str, str]] = [
    ("prose", PROSE),
    ("markdown", MARKDOWN),
    ("rust_code", RUST_CODE),
    ("python_code", PYTHON_CODE),
    ("long_line_no_spaces", LONG_LINE_NO_SPACES),
    ("long_words", LONG_WORDS),
    ("cjk", CJK),
    ("emoji", EMOJI),
    ("combining_marks", COMBINING),
    ("windows_crlf", WINDOWS_CRLF),
    ("blank_line_runs", BLANK_LINE_RUNS),
    ("leading_trailing_whitespace", LEADING_TRAILING_WS),
    ("tabs", TABS),
    ("empty", ""),
    ("only_whitespace", ONLY_WHITESPACE),
    ("shorter_than_chunk", SHORT),
    ("ascii_info_separators", ASCII_SEPARATORS),
    ("unicode_whitespace", UNICODE_WHITESPACE),
    ("repeated_content", REPEATED),
    ("poem_single_newlines", POEM),
    ("json_blob", JSON_BLOB),
    ("html", HTML),
    ("mixed_scripts", MIXED_SCRIPTS),
    ("exact_boundaries", EXACT_BOUNDARIES),
    ("space_runs", SPACE_RUNS),
    ("long_paragraph_no_newlines", LONG_PARAGRAPH_NO_NEWLINES),
    ("random_seed1", random_text(1, 700)),
    ("random_seed2", random_text(2, 700)),
    ("random_seed3", random_text(3, 1500)),
]

# Texts that are small enough to also run with chunk_size=1, which forces every
# piece down to single code points (and exposes unstripped whitespace chunks).
TINY_TEXTS = {
    "empty",
    "only_whitespace",
    "shorter_than_chunk",
    "windows_crlf",
    "ascii_info_separators",
    "unicode_whitespace",
    "combining_marks",
}

# --------------------------------------------------------------------------
# Settings: (name, chunk_size, chunk_overlap, separators or None for default)
# --------------------------------------------------------------------------

SETTINGS: list[tuple[str, int, int, list[str] | None]] = [
    ("cs50_ov0", 50, 0, None),
    ("cs100_ov20", 100, 20, None),
    ("cs200_ov50", 200, 50, None),
    ("cs30_ov29", 30, 29, None),
    # LangChain accepts an overlap equal to the chunk size.
    ("cs40_ov40", 40, 40, None),
    # Sentence-aware list with multi-character and non-ASCII separators.
    ("custom_sentences_cs80_ov10", 80, 10, ["\n\n", "\r\n", "\n", ". ", "。", ", ", " ", ""]),
    # No "" at the end: pieces that stay too long are emitted verbatim.
    ("custom_no_empty_cs60_ov5", 60, 5, ["\n", "\x1c", "|", " "]),
]

TINY_SETTINGS: list[tuple[str, int, int, list[str] | None]] = [
    ("cs1_ov0", 1, 0, None),
    ("cs1_ov1", 1, 1, None),
]


def _splitter_cls():
    try:
        from importlib.metadata import version

        from langchain_text_splitters import RecursiveCharacterTextSplitter
    except ImportError as err:  # pragma: no cover - environment problem
        sys.exit(
            f"error: cannot import langchain_text_splitters ({err}); install "
            f"langchain-text-splitters=={PINNED_VERSION} (run it with the interpreter scripts/python-env prints)"
        )
    installed = version("langchain-text-splitters")
    if installed != PINNED_VERSION:
        sys.exit(
            f"error: langchain-text-splitters {installed} is installed, but the fixture "
            f"pins {PINNED_VERSION}; install that exact version"
        )
    return RecursiveCharacterTextSplitter


def build_cases() -> list[dict]:
    cls = _splitter_cls()
    cases = []
    for text_name, text in TEXTS:
        settings = SETTINGS + (TINY_SETTINGS if text_name in TINY_TEXTS else [])
        for setting_name, size, overlap, separators in settings:
            splitter = cls(
                chunk_size=size,
                chunk_overlap=overlap,
                separators=separators,
                add_start_index=True,
            )
            chunks = splitter.split_text(text)
            docs = splitter.create_documents([text])
            doc_chunks = [d.page_content for d in docs]
            if doc_chunks != chunks:  # pragma: no cover - sanity
                sys.exit(f"error: create_documents disagrees with split_text for {text_name}")
            cases.append(
                {
                    "name": f"{text_name}__{setting_name}",
                    "text": text,
                    "chunk_size": size,
                    "chunk_overlap": overlap,
                    "separators": separators,
                    "expected_chunks": chunks,
                    "expected_start_indices": [d.metadata["start_index"] for d in docs],
                }
            )
    names = [c["name"] for c in cases]
    if len(names) != len(set(names)):  # pragma: no cover - sanity
        sys.exit("error: duplicate case names")
    return cases


def render(cases: list[dict]) -> str:
    doc = {
        "description": (
            "Expected output of langchain_text_splitters.RecursiveCharacterTextSplitter "
            "(keep_separator=True, strip_whitespace=True, length_function=len). "
            "separators=null means the default [\"\\n\\n\", \"\\n\", \" \", \"\"]. "
            "expected_start_indices come from create_documents(add_start_index=True) "
            "and are in code points. Generated by scripts/gen_chunker_fixture.py; "
            "do not edit by hand."
        ),
        "langchain_text_splitters_version": PINNED_VERSION,
        "cases": cases,
    }
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


def summarize_diff(old_text: str, new_cases: list[dict]) -> list[str]:
    lines: list[str] = []
    try:
        old = json.loads(old_text)
        old_cases = {c["name"]: c for c in old["cases"]}
    except (ValueError, KeyError, TypeError) as err:
        return [f"committed fixture is not valid fixture JSON: {err}"]
    new_by_name = {c["name"]: c for c in new_cases}
    for name in sorted(new_by_name.keys() - old_cases.keys()):
        lines.append(f"missing case: {name}")
    for name in sorted(old_cases.keys() - new_by_name.keys()):
        lines.append(f"stale case (no longer generated): {name}")
    for name, new in new_by_name.items():
        old_case = old_cases.get(name)
        if old_case is None or old_case == new:
            continue
        for key in new:
            if old_case.get(key) != new[key]:
                detail = ""
                if key == "expected_chunks":
                    a, b = old_case.get(key) or [], new[key]
                    first = next(
                        (i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b))
                    )
                    detail = f" (committed {len(a)} chunks, generated {len(b)}; first difference at #{first})"
                lines.append(f"case {name}: field '{key}' differs{detail}")
    if not lines:
        lines.append("cases are equal but the file's formatting/metadata differs")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="verify the committed fixture instead of writing it",
    )
    args = parser.parse_args()

    cases = build_cases()
    rendered = render(cases)
    rel = FIXTURE.relative_to(REPO_ROOT)

    if args.check:
        if not FIXTURE.exists():
            print(f"{rel}: missing; run scripts/gen_chunker_fixture.py", file=sys.stderr)
            return 1
        committed = FIXTURE.read_bytes().decode("utf-8")
        if committed == rendered:
            print(f"{rel}: up to date ({len(cases)} cases)")
            return 0
        print(f"{rel}: out of date; run scripts/gen_chunker_fixture.py", file=sys.stderr)
        diff = summarize_diff(committed, cases)
        for line in diff[:50]:
            print(f"  {line}", file=sys.stderr)
        if len(diff) > 50:
            print(f"  ... and {len(diff) - 50} more", file=sys.stderr)
        return 1

    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    with open(FIXTURE, "w", encoding="utf-8", newline="\n") as f:
        f.write(rendered)
    print(f"wrote {rel} ({len(cases)} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
