"""Tokens to a syntax tree, by recursive descent over this grammar (keywords case-insensitive):

query      := or_expr? END
or_expr    := and_expr ("or" and_expr)*
and_expr   := not_expr ("and" not_expr)*
not_expr   := "not" not_expr | "(" or_expr ")" | condition
condition  := field ( OPERATOR value | "not"? "in" "(" value ("," value)* ")"
                    | "not"? "like" STRING | "not"? "exists" )
field      := WORD ("." part ("." part)*)?     json fields (hp.optimizer.lr) and git.* take parts
part       := bare key (val/acc, train-loss) | `backquoted key`
value      := NUMBER | STRING | DATE | "true" | "false" | "null"

ordering   := ("-"? field ("," "-"? field)*)? END
"""

from registry.keypaths import MAX_DEPTH as MAX_KEY_PARTS
from registry.search import lexer
from registry.search.errors import query_error
from registry.search.fields import JSON, NAMESPACES, field_named, is_field
from registry.search.lexer import Token
from registry.search.syntax import And, Comparison, FieldRef, Literal, Not, Or, OrderTerm

MAX_DEPTH = 32  # nested parentheses and `not`s; deeper is never needed and would cost stack
MAX_ORDER_TERMS = 8
_OPERATOR_WORDS = ("in", "like", "exists")
_EXPECTED_OPERATOR = "Expected an operator (= != < <= > >= in like exists)"
_EXPECTED_FIELD = "Expected a field (such as name, hp.lr or metrics.accuracy)"
_EXPECTED_VALUE = "Expected a value (a number, a quoted string, true, false or null)"
_CONSTANTS = {"true": ("boolean", True), "false": ("boolean", False), "null": ("null", None)}


def parse_query(text: str):
    """The syntax tree of a query, or None when it is blank. Raises QueryError."""
    parser = _Parser(text)
    if parser.peek().kind == lexer.EOF:
        return None
    node = parser.or_expr()
    parser.expect_end("Expected 'and', 'or' or the end of the query")
    return node


def parse_ordering(text: str) -> list[OrderTerm]:
    """`-metrics.accuracy,created` as a list of terms. Raises QueryError."""
    parser = _Parser(text)
    if parser.peek().kind == lexer.EOF:
        return []
    terms = [parser.order_term()]
    while parser.peek().kind == lexer.COMMA:
        comma = parser.advance()
        if len(terms) == MAX_ORDER_TERMS:
            raise query_error(comma.offset, f"At most {MAX_ORDER_TERMS} fields can order models, more given")
        terms.append(parser.order_term())
    parser.expect_end("Expected ',' or the end of the ordering")
    return terms


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = lexer.tokenize(text)
        self.index = 0
        self.depth = 0

    # ------------------------------------------------------------------ tokens

    def peek(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != lexer.EOF:
            self.index += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        token = self.peek()
        return token.kind == lexer.WORD and token.value.lower() in words

    def expect(self, kind: str, problem: str) -> Token:
        token = self.peek()
        if token.kind != kind:
            raise query_error(token.offset, problem, found=token.describe())
        return self.advance()

    def expect_end(self, problem: str) -> None:
        self.expect(lexer.EOF, problem)

    def nest(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise query_error(token.offset, f"Parentheses and 'not' nest deeper than {MAX_DEPTH} levels")

    # ------------------------------------------------------------------ expressions

    def or_expr(self):
        children = [self.and_expr()]
        while self.at_keyword("or"):
            self.advance()
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self):
        children = [self.not_expr()]
        while self.at_keyword("and"):
            self.advance()
            children.append(self.not_expr())
        return children[0] if len(children) == 1 else And(tuple(children))

    def not_expr(self):
        token = self.peek()
        if self.at_keyword("not"):
            self.nest(self.advance())
            node = Not(self.not_expr())
            self.depth -= 1
            return node
        if token.kind == lexer.LPAREN:
            self.nest(self.advance())
            node = self.or_expr()
            self.expect(lexer.RPAREN, f"Expected ')' to close the '(' at offset {token.offset}, or 'and' or 'or'")
            self.depth -= 1
            return node
        return self.condition()

    def condition(self):
        target = self.field()
        token = self.peek()
        if token.kind == lexer.OP:
            self.advance()
            return Comparison(target, token.value, (self.value(),), token.offset)
        negated = self.at_keyword("not")
        if negated:
            self.advance()
            token = self.peek()
        if not (token.kind == lexer.WORD and token.value.lower() in _OPERATOR_WORDS):
            problem = "Expected in, like or exists after 'not'" if negated else _EXPECTED_OPERATOR
            hint = None
            if target.path and not negated and token.kind in (lexer.WORD, lexer.NUMBER):
                # `m.val acc > 1`: a key with a space, which only backquotes can hold.
                spaced = (*target.path[:-1], f"{target.path[-1]} {lexer.key_run(self.text, token.offset)}")
                hint = f"write a key with a space as {target.text.partition('.')[0]}.{lexer.spell_key(spaced)}"
            raise query_error(token.offset, problem, found=token.describe(), hint=hint)
        operator = self.advance().value.lower()
        if operator == "in":
            comparison = Comparison(target, "in", self.value_list(), token.offset)
        elif operator == "like":
            pattern = self.expect(lexer.STRING, "Expected a quoted pattern after like")
            comparison = Comparison(target, "like", (self.literal(pattern),), token.offset)
        else:
            comparison = Comparison(target, "exists", (), token.offset)
        return Not(comparison) if negated else comparison

    def value_list(self) -> tuple[Literal, ...]:
        self.expect(lexer.LPAREN, "Expected '(' and a list of values after in")
        values = [self.value()]
        while self.peek().kind == lexer.COMMA:
            self.advance()
            values.append(self.value())
        self.expect(lexer.RPAREN, "Expected ',' or ')' in the list of values")
        return tuple(values)

    # ------------------------------------------------------------------ fields and values

    def field(self) -> FieldRef:
        token = self.peek()
        if token.kind != lexer.WORD:
            raise query_error(token.offset, _EXPECTED_FIELD, found=token.describe())
        self.advance()
        # `format` is a field and the namespace of `format.params`: the dot decides.
        if token.value.lower() in NAMESPACES and (self.peek().kind == lexer.DOT or not is_field(token.value)):
            # `git.remote`: a field whose name holds a dot, never a key of a JSON field.
            self.expect(lexer.DOT, f"Expected '.' and a field after '{token.value}'")
            part = self.expect(lexer.KEY, f"Expected a field after '{token.value}.'")
            field = field_named(f"{token.value}.{part.value}", token.offset)
            return FieldRef(field, None, token.offset, f"{token.text}.{part.text}")
        field = field_named(token.value, token.offset)
        if field.kind != JSON:
            if self.peek().kind == lexer.DOT:
                raise query_error(self.peek().offset, f"'{token.value}' has no keys; only hp., params. and m. do")
            return FieldRef(field, None, token.offset, token.text)
        self.expect(lexer.DOT, f"Expected '.' and a key after '{token.value}'")
        parts = [self.key_part(f"{token.text}.")]
        while self.peek().kind == lexer.DOT:
            dot = self.advance()
            if len(parts) == MAX_KEY_PARTS:
                raise query_error(dot.offset, f"A key path has at most {MAX_KEY_PARTS} parts, more given")
            parts.append(self.key_part(f"{token.text}.{'.'.join(p.text for p in parts)}."))
        written = ".".join(part.text for part in parts)
        return FieldRef(field, tuple(part.value for part in parts), token.offset, f"{token.text}.{written}")

    def key_part(self, before: str) -> Token:
        token = self.peek()
        if token.kind == lexer.KEY:
            return self.advance()
        # `m.-x`: a part that cannot start bare; show it backquoted.
        run = lexer.key_run(self.text, token.offset)
        hint = f"write it as {before}{lexer.spell_key((run,))}" if run else None
        raise query_error(token.offset, f"Expected a key after '{before}'", found=token.describe(), hint=hint)

    def order_term(self) -> OrderTerm:
        descending = self.peek().kind == lexer.MINUS
        if descending:
            self.advance()
        return OrderTerm(self.field(), descending)

    def value(self) -> Literal:
        token = self.peek()
        if token.kind in (lexer.NUMBER, lexer.STRING, lexer.DATE):
            return self.literal(self.advance())
        if token.kind == lexer.WORD and token.value.lower() in _CONSTANTS:
            kind, value = _CONSTANTS[token.value.lower()]
            self.advance()
            return Literal(kind, value, token.offset, token.text)
        hint = f'quote text, as in "{token.value}"' if token.kind == lexer.WORD else None
        raise query_error(token.offset, _EXPECTED_VALUE, found=token.describe(), hint=hint)

    @staticmethod
    def literal(token: Token) -> Literal:
        kind = {lexer.NUMBER: "number", lexer.STRING: "string", lexer.DATE: "date"}[token.kind]
        return Literal(kind, token.value, token.offset, token.text)
