"""The query language, checked against real FTS5 tables with the store's tokenizer."""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Iterator

import pytest

from store.search.query import (
    MAX_TERMS,
    STOP_WORDS,
    Query,
    QueryError,
    cjk_spaced,
    fallback,
    has_cjk,
    parse,
)

TOKENIZE = "porter unicode61 remove_diacritics 2"

ROWS = [
    "fixed the parse_state bug in the parser",
    "the parse state machine",
    "edit foo.py then run",
    "use --dry-run first",
    "a dry day",
    "see src/store/db.py for the schema",
    "store the db in a python file",
    "CamelCase names",
    "HTTP 404 not found",
    "error 4040",
    "flaky login test",
    "login page",
    "flaky network",
    "café au lait",
    "a cafe downtown",
    "🚀 deploy done",
    "数据库 migration",
    "数据库迁移",
    "ユニットテストが失敗",
    "near a b c text foo",
    "and or not words",
    "prefix matching prefixes",
]


@pytest.fixture(scope="module")
def db() -> Iterator[sqlite3.Connection]:
    """`t`: the main index; `c`: the CJK side index, holding every row cjk_spaced."""
    con = sqlite3.connect(":memory:")
    con.execute(f"CREATE VIRTUAL TABLE t USING fts5(text, tokenize='{TOKENIZE}')")
    con.execute(f"CREATE VIRTUAL TABLE c USING fts5(text, tokenize='{TOKENIZE}')")
    con.executemany("INSERT INTO t(rowid, text) VALUES (?, ?)", enumerate(ROWS))
    con.executemany(
        "INSERT INTO c(rowid, text) VALUES (?, ?)", ((i, cjk_spaced(r)) for i, r in enumerate(ROWS))
    )
    yield con
    con.close()


def run(db: sqlite3.Connection, q: Query) -> set[str]:
    """The rows either index finds for `q`, merged as the lead's search does."""
    ids: set[int] = set()
    for table, match in (("t", q.match), ("c", q.cjk_match)):
        if match:
            sql = f"SELECT rowid FROM {table} WHERE {table} MATCH ?"
            ids.update(row[0] for row in db.execute(sql, (match,)))
    return {ROWS[i] for i in ids}


def find(db: sqlite3.Connection, text: str) -> set[str]:
    return run(db, parse(text))


def assert_one_line(message: str) -> None:
    assert message
    assert "\n" not in message
    assert len(message) < 100


def test_words_are_anded(db: sqlite3.Connection) -> None:
    assert find(db, "flaky login") == {"flaky login test"}
    assert parse("flaky login").terms == ("flaky", "login")


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        # The tokenizer cannot tell `parse_state` from `parse state`: both are a phrase.
        ("parse_state", {ROWS[0], ROWS[1]}),
        ("foo.py", {"edit foo.py then run"}),
        ("--dry-run", {"use --dry-run first"}),
        ("src/store/db.py", {"see src/store/db.py for the schema"}),
        ("camelcase", {"CamelCase names"}),
        ("CAMELCASE", {"CamelCase names"}),
        ("404", {"HTTP 404 not found"}),
        ("(404)", {"HTTP 404 not found"}),
    ],
)
def test_identifiers_and_numbers(db: sqlite3.Connection, text: str, rows: set[str]) -> None:
    assert find(db, text) == rows


def test_identifier_terms_keep_inner_punctuation() -> None:
    assert parse("--dry-run src/store/db.py test?").terms == ("dry-run", "src/store/db.py", "test")


def test_phrase(db: sqlite3.Connection) -> None:
    assert find(db, '"login test"') == {"flaky login test"}
    assert find(db, '"test login"') == set()
    assert parse('"login test"').terms == ("login test",)


def test_prefix(db: sqlite3.Connection) -> None:
    assert find(db, "pref*") == {"prefix matching prefixes"}
    assert find(db, "logi*") == {"flaky login test", "login page"}
    assert find(db, "parse_st*") == {ROWS[0], ROWS[1]}
    assert find(db, '"flaky log"*') == {"flaky login test"}
    assert parse("pref*").terms == ("pref",)


def test_or_groups_like_a_web_search(db: sqlite3.Connection) -> None:
    # Bare FTS5 reads `login OR network flaky` as `login OR (network AND flaky)`.
    bare = db.execute("SELECT count(*) FROM t WHERE t MATCH 'login OR network flaky'").fetchone()
    assert bare[0] == 3
    assert find(db, "login OR network flaky") == {"flaky login test", "flaky network"}
    assert find(db, "network OR page OR test") == {"flaky network", "login page", ROWS[10]}
    assert parse("a OR b c").match == '("a" OR "b") AND "c"'


def test_stray_or_is_dropped_with_a_note(db: sqlite3.Connection) -> None:
    for text in ("OR login", "login OR", "login OR -flaky"):
        q = parse(text)
        assert q.terms == ("login",)
        assert q.notes == ("an OR without a term on both sides was ignored",)
    assert find(db, "login OR OR page") == {"flaky login test", "login page"}
    with pytest.raises(QueryError):
        parse("OR")


def test_lowercase_or_and_other_operators_are_words(db: sqlite3.Connection) -> None:
    assert find(db, "or words") == {"and or not words"}
    assert find(db, "AND words") == {"and or not words"}
    assert find(db, "NOT") == {"and or not words", "HTTP 404 not found"}


def test_exclusion(db: sqlite3.Connection) -> None:
    assert find(db, "login -flaky") == {"login page"}
    assert find(db, 'flaky -"login test"') == {"flaky network"}
    assert find(db, "dry -dry-run") == {"a dry day"}
    assert find(db, "flaky OR page -network -test") == {"login page"}
    assert parse("login -flaky").terms == ("login",)


def test_only_exclusions_is_an_error() -> None:
    for text in ("-flaky", '-"login test" -x', "-a OR -b"):
        with pytest.raises(QueryError, match="not excluded") as info:
            parse(text)
        assert_one_line(str(info.value))


def test_diacritics_and_stemming(db: sqlite3.Connection) -> None:
    both = {"café au lait", "a cafe downtown"}
    assert find(db, "cafe") == both
    assert find(db, "café") == both
    assert find(db, "CAFÉ") == both
    assert find(db, "fixing") == {ROWS[0]}


def test_unbalanced_quote_takes_the_rest(db: sqlite3.Connection) -> None:
    q = parse('flaky "login test')
    assert q.terms == ("flaky", "login test")
    assert q.notes == ('a lone " was closed at the end of the query',)
    assert run(db, q) == {"flaky login test"}


def test_lone_star_is_ignored(db: sqlite3.Connection) -> None:
    q = parse("** login")
    assert q.notes == ("a * on its own was ignored",)
    assert run(db, q) == {"flaky login test", "login page"}


def test_fts5_needs_tokenless_strings_dropped(db: sqlite3.Connection) -> None:
    """What FTS5 does with a string that tokenizes to nothing, and a NUL: why parse drops them."""

    def count(match: str) -> int:
        return int(db.execute("SELECT count(*) FROM t WHERE t MATCH ?", (match,)).fetchone()[0])

    assert count('"login"') == 2
    assert count('"login" AND "!!!"') == 0
    assert count('"login" AND "🚀"') == 0
    assert count('"login" AND ""') == 0
    with pytest.raises(sqlite3.OperationalError, match="unterminated string"):
        count('"a\x00b"')
    assert find(db, "login !!! 🚀") == {"flaky login test", "login page"}
    assert find(db, "log\x00in") == set()
    assert parse("log\x00in").terms == ("log", "in")


def test_emoji(db: sqlite3.Connection) -> None:
    q = parse("🚀 deploy")
    assert q.terms == ("deploy",)
    assert q.notes == ("ignored (no letters or digits): 🚀",)
    assert run(db, q) == {"🚀 deploy done"}
    with pytest.raises(QueryError, match="nothing to search for"):
        parse("🚀 🎉")


def test_column_filters_and_near_are_literal(db: sqlite3.Connection) -> None:
    assert find(db, "text:foo") == {"near a b c text foo"}
    assert find(db, "NEAR(a b)") == {"near a b c text foo"}
    assert find(db, "{a}: foo") == {"near a b c text foo"}
    assert find(db, "^store +db") == {"store the db in a python file", ROWS[5]}


def test_cjk(db: sqlite3.Connection) -> None:
    q = parse("数据库")
    assert q.match == '"数据库"'
    assert q.cjk_match == '"数 据 库"'
    assert q.terms == ("数据库",)
    assert run(db, q) == {"数据库 migration", "数据库迁移"}
    assert find(db, "数据库 migration") == {"数据库 migration"}
    assert find(db, "数据库 -migration") == {"数据库迁移"}
    assert find(db, "テスト") == {"ユニットテストが失敗"}
    assert find(db, "迁移 OR 失敗") == {"数据库迁移", "ユニットテストが失敗"}
    assert parse("login").cjk_match == ""


def test_cjk_spaced() -> None:
    assert cjk_spaced("数据库") == "数 据 库"
    assert cjk_spaced("abc数据,x") == "abc 数 据 ,x"
    assert cjk_spaced("数据库 migration") == "数 据 库 migration"
    assert cjk_spaced("한국어 ﾃｽﾄ 人々") == "한 국 어 ﾃ ｽ ﾄ 人 々"
    assert cjk_spaced("ＡＢＣ plain") == "ＡＢＣ plain"
    once = cjk_spaced("混合text数据")
    assert cjk_spaced(once) == once


def test_has_cjk() -> None:
    assert has_cjk("a 数 b")
    assert has_cjk("テスト")
    assert has_cjk("한")
    assert not has_cjk("café ＡＢＣ 🚀")


def test_term_limit() -> None:
    q = parse(" ".join(f"w{i}" for i in range(MAX_TERMS + 8)))
    assert len(q.terms) == MAX_TERMS
    assert q.notes == (f"the query was cut to its first {MAX_TERMS} terms",)


def test_long_term_is_clipped_at_a_space() -> None:
    q = parse('"' + "word " * 100 + '"')
    assert q.terms[0].endswith("word")
    assert len(q.terms[0]) <= 256
    assert q.notes[0].startswith("a long term was cut")


@pytest.mark.parametrize(
    "text",
    [
        "word " * 2000,
        '"' * 10_000,
        '"' + "x " * 5000,
        "数" * 10_000,
        "a OR " * 2000,
        "-" * 10_000,
        "*" * 10_000,
        "é" * 10_000,
        "(" * 10_000,
    ],
)
def test_10kb_queries_are_quick(db: sqlite3.Connection, text: str) -> None:
    start = time.perf_counter()
    try:
        q = parse(text)
    except QueryError as e:
        assert_one_line(str(e))
    else:
        run(db, q)
        for note in q.notes:
            assert_one_line(note)
    fallback(text)
    assert time.perf_counter() - start < 0.5


HOSTILE = [
    '"abc',
    '"',
    '""',
    "*",
    "NEAR(",
    "NEAR(a b)",
    "col:x",
    "text:foo",
    "AND",
    "OR",
    "NOT",
    "(",
    ")",
    "^x",
    "+x",
    "{a}",
    "{a b}: c",
    "a NOT b",
    "a AND",
    "-",
    "--",
    "-*",
    '-"',
    '"a"*"b"',
    "a:*",
    "🚀",
    "🚀 deploy",
    "数据库",
    "テスト",
    "数据库 migration -テスト",
    "\x00",
    "a\x00\x01\x7f b",
    "\ud800 x",
    "'single' quotes",
    "\u0301",
    "x\u0301",
    "",
    "   \t\n",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_input(db: sqlite3.Connection, text: str) -> None:
    check(db, text)


def check(db: sqlite3.Connection, text: str) -> None:
    """parse either refuses `text` in one line or gives expressions FTS5 runs."""
    try:
        q = parse(text)
    except QueryError as e:
        assert_one_line(str(e))
        return
    assert q.match
    assert q.terms
    run(db, q)
    for note in q.notes:
        assert_one_line(note)
    f = fallback(text)
    if f is not None:
        run(db, f)


def test_random_hostile_strings(db: sqlite3.Connection) -> None:
    alphabet = list('"*-():^+{}., \t\n_/') + list("abcXYZ09é") + ["OR", "AND", "NOT", "NEAR"]
    alphabet += ["数", "据", "テ", "한", "🚀", "👍🏽", "\x00", "\x01", "\x1f", "\u200d", "\u0301"]
    rng = random.Random(20240611)
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 24)))
        check(db, text)


def test_fallback_ors_the_significant_words(db: sqlite3.Connection) -> None:
    text = "how did we fix the flaky login test?"
    q = fallback(text)
    assert q is not None
    assert q.terms == ("fix", "flaky", "login", "test")
    assert q.match == '("fix" OR "flaky" OR "login" OR "test")'
    assert find(db, "how did we fix the flaky login page?") == set()
    again = fallback("how did we fix the flaky login page?")
    assert again is not None
    assert run(db, again) == {ROWS[0], "flaky login test", "login page", "flaky network"}


def test_fallback_keeps_identifiers_numbers_phrases_and_exclusions() -> None:
    q = fallback('why is parse_state 404 "the end" -flaky')
    assert q is not None
    assert q.terms == ("parse_state", "404", "the end")
    assert q.match == '("parse_state" OR "404" OR "the end") NOT ("flaky")'


def test_fallback_is_none_when_useless() -> None:
    assert fallback("fix") is None
    assert fallback("how did we") is None
    assert fallback("-flaky") is None
    assert fallback("") is None
    assert fallback("fix OR login") is None
    assert fallback("fix Fix fix?") is not None


def test_stop_words() -> None:
    assert {"how", "what", "why", "did", "we", "the", "a", "is"} <= STOP_WORDS
    assert all(word == word.lower() and " " not in word for word in STOP_WORDS)
    assert "login" not in STOP_WORDS


def test_query_is_frozen() -> None:
    q = parse("x")
    with pytest.raises(AttributeError):
        q.match = "y"  # type: ignore[misc]
