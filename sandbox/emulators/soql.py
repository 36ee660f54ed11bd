"""A small SOQL compiler: the subset a data pipeline sends, turned into parameterised SQLite.

Supported: SELECT of fields, COUNT(), COUNT(field) and FIELDS(ALL|STANDARD|CUSTOM); FROM one object;
WHERE with AND / OR / NOT and parentheses, = != <> < > <= >= LIKE IN NOT IN, string / number /
true / false / null / date / datetime literals; ORDER BY (several, ASC/DESC, NULLS FIRST/LAST);
LIMIT; OFFSET. Relationship paths, sub-queries, GROUP BY and relative date literals are rejected
with the error Salesforce gives for a query it cannot run, so a pipeline never silently gets
different rows than the real service would return.

Salesforce semantics kept: string comparisons ignore case, `!=` and NOT IN match nulls, mixing AND
and OR without parentheses is an error, datetime and date literals are unquoted and must match the
field's type, OFFSET is at most 2,000.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.schema import (
    BOOLEAN,
    DATE,
    DATETIME,
    EMAIL,
    ID,
    NUMERIC_TYPES,
    PICKLIST,
    REFERENCE,
    STRING,
    TEXTAREA,
    URL,
    ObjectSchema,
)
from sandbox.store import sf_datetime

# phone and combobox are Salesforce's documented types of standard fields the world does not store.
STRING_TYPES = {ID, REFERENCE, STRING, TEXTAREA, PICKLIST, EMAIL, URL, "phone", "combobox"}
COMPOUND_TYPES = {"address", "location"}
MAX_OFFSET = 2000
FIELDS_FUNCTION_MAX_LIMIT = 200

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:\\.|[^'\\])*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),:])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    """,
    re.VERBOSE,
)

_KEYWORDS = {
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "LIKE",
    "ORDER",
    "BY",
    "ASC",
    "DESC",
    "NULLS",
    "FIRST",
    "LAST",
    "LIMIT",
    "OFFSET",
    "TRUE",
    "FALSE",
    "NULL",
    "GROUP",
    "HAVING",
    "INCLUDES",
    "EXCLUDES",
    "WITH",
    "FOR",
    "USING",
    "TYPEOF",
}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}


class SoqlError(Exception):
    def __init__(self, error_code: str, message: str):
        super().__init__(message)
        self.error_code = error_code
        self.message = message


@dataclass(frozen=True)
class Token:
    kind: str  # string datetime date number op punct ident keyword eof
    value: str
    pos: int

    def is_kw(self, *words: str) -> bool:
        return self.kind == "keyword" and self.value in words


@dataclass
class Query:
    obj: ObjectSchema
    fields: list[str] = field(default_factory=list)  # canonical API names, in SELECT order
    count: str | None = None  # "rows" for COUNT(), "aggregate" for COUNT(field)
    aggregate_alias: str = "expr0"
    count_field: str | None = None
    where_sql: str = ""
    params: list[Any] = field(default_factory=list)
    order_sql: str = ""
    limit: int | None = None
    offset: int | None = None
    filtered: list[str] = field(default_factory=list)  # fields the WHERE, ORDER BY or COUNT read

    def rowid_sql(self, include_deleted: bool, source: str | None = None) -> tuple[str, list[Any]]:
        """SQL for the rowids of the matching records in result order (the query's cursor).
        `source` replaces the table (a subquery adding columns the table lacks)."""
        conditions = [f"({self.where_sql})"] if self.where_sql else []
        if not include_deleted:
            conditions.append('COALESCE("IsDeleted", 0) = 0')
        table = source or f'"{self.obj.table}"'
        sql = f"SELECT rowid FROM {table}"
        if conditions:
            sql += " WHERE " + " AND ".join(conditions)
        sql += f" ORDER BY {self.order_sql or 'rowid'}"
        if self.limit is not None or self.offset:
            sql += f" LIMIT {self.limit if self.limit is not None else -1}"
            if self.offset:
                sql += f" OFFSET {self.offset}"
        return sql, list(self.params)


def tokenize(soql: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(soql):
        m = _TOKEN.match(soql, pos)
        if not m:
            raise SoqlError("MALFORMED_QUERY", _located(soql, pos, f"unexpected token: '{soql[pos:].split()[0]}'"))
        kind = m.lastgroup or ""
        text = m.group()
        if kind == "string":
            tokens.append(Token("string", _unescape(text[1:-1]), pos))
        elif kind == "ident" and text.upper() in _KEYWORDS:
            tokens.append(Token("keyword", text.upper(), pos))
        elif kind != "ws":
            tokens.append(Token(kind, text, pos))
        pos = m.end()
    tokens.append(Token("eof", "", len(soql)))
    return tokens


def _unescape(body: str) -> str:
    # \% and \_ stay escaped: they only mean something to LIKE, which keeps them as its escapes.
    out = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append("\\" + nxt if nxt in "%_" else _ESCAPES.get(nxt, nxt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _located(soql: str, pos: int, message: str) -> str:
    """Salesforce's error layout: the query line, a caret under the problem, row and column."""
    line_start = soql.rfind("\n", 0, pos) + 1
    line_end = soql.find("\n", pos)
    line = soql[line_start : line_end if line_end != -1 else len(soql)]
    row = soql.count("\n", 0, pos) + 1
    col = pos - line_start + 1
    return f"\n{line}\n{' ' * (col - 1)}^\nERROR at Row:{row}:Column:{col}\n{message}"


def datetime_literal(text: str) -> str:
    """A SOQL datetime literal in the stored form (UTC, milliseconds, Z) so it compares as text."""
    v = text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", v):
        v = v[:-2] + ":" + v[-2:]
    return sf_datetime(datetime.fromisoformat(v).astimezone(UTC))


class _Parser:
    def __init__(self, soql: str, objects: dict[str, ObjectSchema]):
        self.soql = soql
        self.tokens = tokenize(soql)
        self.i = 0
        self.objects = {name.lower(): o for name, o in objects.items()}
        self.params: list[Any] = []
        self.filtered: list[str] = []

    # token helpers -------------------------------------------------------------------------

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        t = self.tokens[self.i]
        self.i += 1
        return t

    def unexpected(self, t: Token | None = None) -> SoqlError:
        t = t or self.tok
        what = "<EOF>" if t.kind == "eof" else t.value if t.kind != "string" else f"'{t.value}'"
        return SoqlError("MALFORMED_QUERY", _located(self.soql, t.pos, f"unexpected token: '{what}'"))

    def expect_kw(self, *words: str) -> Token:
        if not self.tok.is_kw(*words):
            raise self.unexpected()
        return self.next()

    def expect_punct(self, ch: str) -> Token:
        if self.tok.kind != "punct" or self.tok.value != ch:
            raise self.unexpected()
        return self.next()

    def accept_punct(self, ch: str) -> bool:
        if self.tok.kind == "punct" and self.tok.value == ch:
            self.i += 1
            return True
        return False

    def integer(self) -> int:
        t = self.next()
        if t.kind != "number" or not t.value.isdigit():
            raise self.unexpected(t)
        return int(t.value)

    # grammar -------------------------------------------------------------------------------

    def parse(self) -> Query:
        self.expect_kw("SELECT")
        items = self.select_list()
        self.expect_kw("FROM")
        obj_tok = self.next()
        if obj_tok.kind != "ident":
            raise self.unexpected(obj_tok)
        obj = self.objects.get(obj_tok.value.lower())
        if obj is None:
            raise SoqlError(
                "INVALID_TYPE",
                _located(
                    self.soql,
                    obj_tok.pos,
                    f"sObject type '{obj_tok.value}' is not supported. If you are attempting to use a custom "
                    "object, be sure to append the '__c' after the entity name. Please reference your WSDL or "
                    "the describe call for the appropriate names.",
                ),
            )
        query = Query(obj)
        self.resolve_select(query, items)
        if self.tok.is_kw("WHERE"):
            self.next()
            query.where_sql = self.condition(obj)
        if self.tok.is_kw("GROUP", "HAVING", "WITH", "USING"):
            raise SoqlError(
                "MALFORMED_QUERY",
                _located(self.soql, self.tok.pos, f"{self.tok.value} is not supported by the sandbox emulator"),
            )
        if self.tok.is_kw("ORDER"):
            self.next()
            self.expect_kw("BY")
            if query.count == "rows":
                raise SoqlError("MALFORMED_QUERY", "ORDER BY cannot be used with COUNT()")
            query.order_sql = self.order_list(obj)
        if self.tok.is_kw("LIMIT"):
            self.next()
            query.limit = self.integer()
        if self.tok.is_kw("OFFSET"):
            self.next()
            offset_tok = self.tok
            query.offset = self.integer()
            if query.offset > MAX_OFFSET:
                raise SoqlError(
                    "NUMBER_OUTSIDE_VALID_RANGE",
                    _located(self.soql, offset_tok.pos, f"Maximum SOQL offset allowed is {MAX_OFFSET}"),
                )
        if self.tok.is_kw("FOR"):
            self.next()
            if not (self.tok.kind == "ident" and self.tok.value.upper() in ("VIEW", "REFERENCE")):
                raise self.unexpected()
            self.next()
        if self.tok.kind != "eof":
            raise self.unexpected()
        unbounded = query.limit is None or query.limit > FIELDS_FUNCTION_MAX_LIMIT
        if unbounded and any(kind == "fields" and arg != "STANDARD" for kind, arg, _, _ in items):
            raise SoqlError(
                "MALFORMED_QUERY",
                f"The SOQL FIELDS function must have a LIMIT of at most {FIELDS_FUNCTION_MAX_LIMIT}",
            )
        query.params = self.params
        query.filtered = list(dict.fromkeys(self.filtered))
        return query

    def select_list(self) -> list[tuple[str, str, Token, str | None]]:
        """Items as (kind, argument, token, alias): field, count, fields."""
        items: list[tuple[str, str, Token, str | None]] = []
        while True:
            t = self.next()
            if t.kind != "ident":
                raise self.unexpected(t)
            name = t.value.upper()
            if name in ("COUNT", "FIELDS") and self.tok.kind == "punct" and self.tok.value == "(":
                self.next()
                arg = ""
                if self.tok.kind == "ident":
                    arg = self.next().value
                self.expect_punct(")")
                alias = None
                if self.tok.kind == "ident" and name == "COUNT":
                    alias = self.next().value
                if name == "FIELDS" and arg.upper() not in ("ALL", "STANDARD", "CUSTOM"):
                    raise self.unexpected(t)
                items.append(
                    ("count" if name == "COUNT" else "fields", arg.upper() if name == "FIELDS" else arg, t, alias)
                )
            elif self.tok.kind == "punct" and self.tok.value == "(":
                raise SoqlError(
                    "MALFORMED_QUERY", _located(self.soql, t.pos, f"function {t.value} is not supported by the sandbox")
                )
            else:
                items.append(("field", t.value, t, None))
            if not self.accept_punct(","):
                return items

    def resolve_select(self, query: Query, items: list[tuple[str, str, Token, str | None]]) -> None:
        obj = query.obj
        counts = [it for it in items if it[0] == "count"]
        if counts:
            if len(items) > 1:
                raise SoqlError(
                    "MALFORMED_QUERY",
                    _located(self.soql, counts[0][2].pos, "COUNT() cannot be combined with other fields"),
                )
            _, arg, tok, alias = counts[0]
            if arg:
                query.count_field = self.field_of(obj, arg, tok).name
                self.filtered.append(query.count_field)
                query.count = "aggregate"
                query.aggregate_alias = alias or "expr0"
            else:
                query.count = "rows"
            return
        seen: set[str] = set()
        for kind, arg, tok, _ in items:
            if kind == "fields":
                names = [f.name for f in obj.fields if arg == "ALL" or (arg == "CUSTOM") == f.custom]
            else:
                names = [self.field_of(obj, arg, tok).name]
            for name in names:
                if name in seen:
                    if kind == "field":
                        raise SoqlError(
                            "MALFORMED_QUERY", _located(self.soql, tok.pos, f"duplicate field selected: {name}")
                        )
                    continue
                seen.add(name)
                query.fields.append(name)

    def field_of(self, obj: ObjectSchema, name: str, tok: Token):
        if "." not in name and obj.has_field(name):
            return obj.field(name)
        if "." in name:
            head, rest = name.split(".", 1)
            if head.lower() == obj.name.lower() and obj.has_field(rest):
                return obj.field(rest)
            message = (
                f"Didn't understand relationship '{head}' in field path. The sandbox emulator does not "
                "follow relationships; query the related object separately."
            )
        else:
            message = (
                f"No such column '{name}' on entity '{obj.name}'. If you are attempting to use a custom field, be "
                "sure to append the '__c' after the custom field name. Please reference your WSDL or the describe "
                "call for the appropriate names."
            )
        raise SoqlError("INVALID_FIELD", _located(self.soql, tok.pos, message))

    def filterable(self, obj: ObjectSchema, t: Token, how: str):
        """A field a WHERE or ORDER BY reads: compound fields (addresses) can only be selected."""
        f = self.field_of(obj, t.value, t)
        if f.type in COMPOUND_TYPES:
            message = f"field '{f.name}' can not be {how} in a query call"
            raise SoqlError("INVALID_FIELD", _located(self.soql, t.pos, message))
        self.filtered.append(f.name)
        return f

    def condition(self, obj: ObjectSchema) -> str:
        parts = [self.unary(obj)]
        joiner: str | None = None
        while self.tok.is_kw("AND", "OR"):
            word = self.next()
            if joiner and word.value != joiner:
                raise self.unexpected(word)
            joiner = word.value
            parts.append(self.unary(obj))
        return parts[0] if len(parts) == 1 else f" {joiner} ".join(f"({p})" for p in parts)

    def unary(self, obj: ObjectSchema) -> str:
        if self.tok.is_kw("NOT"):
            self.next()
            return f"NOT ({self.unary(obj)})"
        if self.accept_punct("("):
            inner = self.condition(obj)
            self.expect_punct(")")
            return inner
        return self.comparison(obj)

    def comparison(self, obj: ObjectSchema) -> str:
        t = self.next()
        if t.kind != "ident":
            raise self.unexpected(t)
        f = self.filterable(obj, t, "filtered")
        col = f'"{f.name}"'
        if f.type == BOOLEAN:
            col = f"COALESCE({col}, 0)"
        nocase = " COLLATE NOCASE" if f.type in STRING_TYPES - {ID, REFERENCE} else ""
        if self.tok.is_kw("NOT") and self.tokens[self.i + 1].is_kw("IN"):
            self.next()
            self.next()
            values = self.value_list(f)
            marks = ", ".join(self.bind(v) for v in values)
            return f"({col} IS NULL OR {col}{nocase} NOT IN ({marks}))"
        if self.tok.is_kw("IN"):
            self.next()
            values = self.value_list(f)
            return f"{col}{nocase} IN ({', '.join(self.bind(v) for v in values)})"
        if self.tok.is_kw("LIKE"):
            like = self.next()
            value_tok = self.next()
            if value_tok.kind != "string":
                raise self.unexpected(value_tok)
            if f.type not in STRING_TYPES:
                raise SoqlError(
                    "INVALID_FIELD",
                    _located(self.soql, like.pos, f"invalid operator on {f.type} field: LIKE ({f.name})"),
                )
            return f"{col} LIKE {self.bind(value_tok.value)} ESCAPE '\\'"
        if self.tok.is_kw("INCLUDES", "EXCLUDES"):
            raise SoqlError(
                "INVALID_FIELD",
                _located(self.soql, self.tok.pos, f"{self.tok.value} only applies to multi-select picklists"),
            )
        op_tok = self.next()
        if op_tok.kind != "op":
            raise self.unexpected(op_tok)
        op = "!=" if op_tok.value == "<>" else op_tok.value
        value = self.value(f)
        if value is None:
            if op == "=":
                return f'"{f.name}" IS NULL'
            if op == "!=":
                return f'"{f.name}" IS NOT NULL'
            raise SoqlError("MALFORMED_QUERY", _located(self.soql, op_tok.pos, f"invalid operator with null: {op}"))
        if op == "=":
            return f"{col}{nocase} = {self.bind(value)}"
        if op == "!=":
            return f"{col}{nocase} IS NOT {self.bind(value)}"
        return f"{col}{nocase} {op} {self.bind(value)}"

    def value_list(self, f) -> list[Any]:
        if self.tok.is_kw("SELECT") or (
            self.tok.kind == "punct" and self.tok.value == "(" and self.tokens[self.i + 1].is_kw("SELECT")
        ):
            raise SoqlError(
                "MALFORMED_QUERY", _located(self.soql, self.tok.pos, "semi-join sub-selects are not supported")
            )
        self.expect_punct("(")
        values = [self.value(f)]
        while self.accept_punct(","):
            values.append(self.value(f))
        self.expect_punct(")")
        return values

    def bind(self, value: Any) -> str:
        self.params.append(value)
        return "?"

    def value(self, f) -> Any:
        t = self.next()
        if t.is_kw("NULL"):
            return None
        ftype = f.type

        def wrong(expected: str, quoted: bool) -> SoqlError:
            how = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
            return SoqlError(
                "INVALID_FIELD",
                _located(
                    self.soql,
                    t.pos,
                    f"value of filter criterion for field '{f.name}' must be of type {expected} and {how}",
                ),
            )

        if ftype in STRING_TYPES:
            if t.kind != "string":
                raise wrong("string" if ftype not in (ID, REFERENCE) else "id", True)
            return t.value
        if ftype == BOOLEAN:
            if not t.is_kw("TRUE", "FALSE"):
                raise wrong("boolean", False)
            return 1 if t.value == "TRUE" else 0
        if ftype in NUMERIC_TYPES:
            if t.kind != "number":
                raise wrong("double" if ftype != "int" else "int", False)
            return float(t.value) if "." in t.value else int(t.value)
        if ftype == DATETIME:
            if t.kind != "datetime":
                if t.kind == "ident" and self.tok.kind == "punct" and self.tok.value == ":":
                    raise SoqlError(
                        "MALFORMED_QUERY",
                        _located(self.soql, t.pos, f"relative date literal {t.value} is not supported by the sandbox"),
                    )
                raise wrong("dateTime", False)
            return datetime_literal(t.value)
        if ftype == DATE:
            if t.kind != "date":
                raise wrong("date", False)
            return t.value
        raise wrong(ftype, False)

    def order_list(self, obj: ObjectSchema) -> str:
        parts = []
        while True:
            t = self.next()
            if t.kind != "ident":
                raise self.unexpected(t)
            f = self.filterable(obj, t, "sorted")
            expr = f'COALESCE("{f.name}", 0)' if f.type == BOOLEAN else f'"{f.name}"'
            if f.type in STRING_TYPES - {ID, REFERENCE}:
                expr += " COLLATE NOCASE"
            direction = "ASC"
            if self.tok.is_kw("ASC", "DESC"):
                direction = self.next().value
            # Salesforce puts nulls first ascending and last descending, as SQLite does by default.
            nulls = ""
            if self.tok.is_kw("NULLS"):
                self.next()
                nulls = " NULLS " + self.expect_kw("FIRST", "LAST").value
            parts.append(f"{expr} {direction}{nulls}")
            if not self.accept_punct(","):
                break
        parts.append("rowid")  # ties keep insertion order, so pages never overlap
        return ", ".join(parts)


def compile_query(soql: str, objects: dict[str, ObjectSchema]) -> Query:
    """Parse SOQL into a Query over the object's table; raise SoqlError as Salesforce would."""
    if not soql or not soql.strip():
        raise SoqlError("MALFORMED_QUERY", "A query string has to be specified")
    return _Parser(soql, objects).parse()


def object_name(soql: str) -> str | None:
    """The FROM object, found without a full parse (fault matching needs it before the query runs)."""
    m = re.search(r"\bFROM\s+([A-Za-z_][A-Za-z0-9_]*)", soql or "", re.IGNORECASE)
    return m.group(1) if m else None
