"""Tests for mixedmodels.formula: lme4 formula parsing."""

from __future__ import annotations

import sys
from itertools import chain
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

try:
    import mixedmodels  # noqa: F401
except ImportError:  # not installed: run from the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from mixedmodels.errors import FormulaError, MixedModelsError  # noqa: E402
from mixedmodels.formula import ParsedFormula, RandomTerm, parse_formula  # noqa: E402


def summary(parsed: ParsedFormula) -> tuple:
    """Everything but the original texts: what must not depend on whitespace."""
    return parsed.response, parsed.fixed, [(t.lhs, t.group) for t in parsed.random]


# --------------------------------------------------------------------------------------------
# random-effects terms


@pytest.mark.parametrize(
    ("formula", "terms"),
    [
        ("y ~ (1|g)", [("1", ("g",))]),
        ("y ~ (x|g)", [("1 + x", ("g",))]),
        ("y ~ (1 + x|g)", [("1 + x", ("g",))]),
        ("y ~ (x + 1|g)", [("1 + x", ("g",))]),
        ("y ~ (0 + x|g)", [("0 + x", ("g",))]),
        ("y ~ (x + 0|g)", [("0 + x", ("g",))]),
        ("y ~ (-1 + x|g)", [("0 + x", ("g",))]),
        ("y ~ (x - 1|g)", [("0 + x", ("g",))]),
        ("y ~ (0 + C(f)|g)", [("0 + C(f)", ("g",))]),
        ("y ~ (1 + x + z|g)", [("1 + x + z", ("g",))]),
        ("y ~ (x*z|g)", [("1 + x * z", ("g",))]),
        ("y ~ (1 + x - z|g)", [("1 + x - z", ("g",))]),
        ("y ~ (1 + poly(x, 2)|g)", [("1 + poly(x, 2)", ("g",))]),
        ("Reaction ~ Days + ( Days | Subject )", [("1 + Days", ("Subject",))]),
        ("y ~ (1|a:b)", [("1", ("a", "b"))]),
        ("y ~ (1|dept:service)", [("1", ("dept", "service"))]),
        ("y ~ ((1|g))", [("1", ("g",))]),
        ("y ~ (1|g) + (x|h)", [("1", ("g",)), ("1 + x", ("h",))]),
        ("y ~ (1|g) + (1|g)", [("1", ("g",)), ("1", ("g",))]),
    ],
)
def test_random_terms(formula, terms):
    parsed = parse_formula(formula)
    assert [(t.lhs, t.group) for t in parsed.random] == terms


def test_term_fields():
    parsed = parse_formula("Reaction ~ Days + (Days | Subject)")
    assert parsed == ParsedFormula(
        formula="Reaction ~ Days + (Days | Subject)",
        response="Reaction",
        fixed="Days",
        random=(RandomTerm(lhs="1 + Days", group=("Subject",), text="(Days | Subject)"),),
    )
    assert parsed.random[0].group_name == "Subject"


def test_dataclasses_are_frozen():
    term = parse_formula("y ~ (1|g)").random[0]
    with pytest.raises(AttributeError):
        term.lhs = "0"  # type: ignore[misc]


def test_group_name_of_interaction():
    assert parse_formula("y ~ (1|dept:service)").random[0].group_name == "dept:service"


@pytest.mark.parametrize(
    ("formula", "terms"),
    [
        ("y ~ (1|a/b)", [("1", ("a",)), ("1", ("b", "a"))]),
        ("y ~ (1|batch/cask)", [("1", ("batch",)), ("1", ("cask", "batch"))]),
        ("y ~ (1|a/b/c)", [("1", ("a",)), ("1", ("b", "a")), ("1", ("c", "b", "a"))]),
        ("y ~ (x|a/b)", [("1 + x", ("a",)), ("1 + x", ("b", "a"))]),
        ("y ~ (1|a:b/c)", [("1", ("a", "b")), ("1", ("c", "a", "b"))]),
        ("y ~ (1|a/b:c)", [("1", ("a",)), ("1", ("b", "c", "a"))]),
    ],
)
def test_slash_expansion(formula, terms):
    parsed = parse_formula(formula)
    assert [(t.lhs, t.group) for t in parsed.random] == terms
    assert {t.text for t in parsed.random} == {formula[4:]}


def test_slash_group_names_follow_lme4():
    parsed = parse_formula("strength ~ (1 | batch/cask)")
    assert [t.group_name for t in parsed.random] == ["batch", "cask:batch"]


@pytest.mark.parametrize(
    ("formula", "terms"),
    [
        ("y ~ (1 + x + z||g)", [("1", ("g",)), ("0 + x", ("g",)), ("0 + z", ("g",))]),
        ("y ~ (x||g)", [("1", ("g",)), ("0 + x", ("g",))]),
        ("y ~ (Days || Subject)", [("1", ("Subject",)), ("0 + Days", ("Subject",))]),
        ("y ~ (0 + x + z||g)", [("0 + x", ("g",)), ("0 + z", ("g",))]),
        ("y ~ (x + z - 1||g)", [("0 + x", ("g",)), ("0 + z", ("g",))]),
        ("y ~ (0 + x||g)", [("0 + x", ("g",))]),
        ("y ~ (1||g)", [("1", ("g",))]),
        ("y ~ (0 + poly(x, 2)||g)", [("0 + poly(x, 2)", ("g",))]),
        ("y ~ (I(a + b) + x||g)", [("1", ("g",)), ("0 + I(a + b)", ("g",)), ("0 + x", ("g",))]),
        ("y ~ (x:z + w||g)", [("1", ("g",)), ("0 + x:z", ("g",)), ("0 + w", ("g",))]),
        (
            "y ~ (x||a/b)",
            [("1", ("a",)), ("1", ("b", "a")), ("0 + x", ("a",)), ("0 + x", ("b", "a"))],
        ),
        ("y ~ (x||a:b)", [("1", ("a", "b")), ("0 + x", ("a", "b"))]),
    ],
)
def test_double_bar_expansion(formula, terms):
    parsed = parse_formula(formula)
    assert [(t.lhs, t.group) for t in parsed.random] == terms
    assert {t.text for t in parsed.random} == {formula[4:]}


def test_backquoted_names():
    parsed = parse_formula("`my y` ~ `x 1` + (0 + `x 1` | `my group`:b) + (1 | `a b`/c)")
    assert parsed.response == "`my y`"
    assert parsed.fixed == "`x 1`"
    assert [(t.lhs, t.group) for t in parsed.random] == [
        ("0 + `x 1`", ("my group", "b")),
        ("1", ("a b",)),
        ("1", ("c", "a b")),
    ]
    assert parsed.random[0].group_name == "my group:b"


def test_whitespace_and_newlines():
    formula = "Reaction ~\n    Days\n    + (Days |\n       Subject)\n"
    parsed = parse_formula(formula)
    assert summary(parsed) == ("Reaction", "Days", [("1 + Days", ("Subject",))])
    assert parsed.random[0].text == "(Days |\n       Subject)"
    assert summary(parse_formula("y~x+(x||g)")) == summary(parse_formula(" y ~ x + ( x || g ) "))


# --------------------------------------------------------------------------------------------
# the fixed part and the response


@pytest.mark.parametrize(
    ("formula", "fixed"),
    [
        ("y ~ (1|g)", "1"),
        ("y ~ (1|g) + (x|h)", "1"),
        ("y ~ x + (1|g)", "x"),
        ("y ~ (1|g) + x", "x"),
        ("y ~ x + (1|g) + z", "x + z"),
        ("y ~ 0 + x + (1|g)", "0 + x"),
        ("y ~ x + 0 + (1|g)", "x + 0"),
        ("y ~ x - 1 + (1|g)", "x - 1"),
        ("y ~ x + (1|g) - 1", "x - 1"),
        ("y ~ -1 + (1|g) + x", "-1 + x"),
        ("y ~ (1|g) - 1", "-1"),
        ("y ~ 0 + (1|g)", "0"),
        ("y ~ 1 + (1|g)", "1"),
        ("y ~ + x + (1|g)", "x"),
        ("y ~ x + -1 + (1|g)", "x - 1"),
        ("y ~ x*z + (1|g)", "x * z"),
        ("y ~ x:z + (1|g)", "x:z"),
        ("y ~ (a + b)^2 + (1|g)", "(a + b)^2"),
        ("y ~ (a+b)**2 + (1|g)", "(a + b)**2"),
        ("y ~ np.log(x) + (1|g)", "np.log(x)"),
        ('y ~ C(x, Treatment("b")) + (1|g)', 'C(x, Treatment("b"))'),
        ("y ~ C(x, Treatment('b c')) + (1|g)", "C(x, Treatment('b c'))"),
        ("y ~ I(x**2) + (1|g)", "I(x**2)"),
        ("y ~ scale(x) + (1|g)", "scale(x)"),
        ("y ~ {x + 1} + (1|g)", "{x + 1}"),
        ("y ~ x + 1e-3 + (1|g)", "x + 1e-3"),
        ("y ~ I(x if x > 0 else 0) + (1|g)", "I(x if x > 0 else 0)"),
        ("y ~ I(x if(x>0)else-1) + (1|g)", "I(x if (x > 0) else -1)"),
        ("y ~ I(not -x) + (1|g)", "I(not -x)"),
        ("y ~ I(a | b) + (1|g)", "I(a | b)"),
        ("y ~ ((a)) + (1|g)", "((a))"),
        ("y ~ `x y` + (1|g)", "`x y`"),
    ],
)
def test_fixed_part(formula, fixed):
    assert parse_formula(formula).fixed == fixed


@pytest.mark.parametrize(
    ("formula", "response"),
    [
        ("y ~ (1|g)", "y"),
        ("  Reaction   ~ (1|g)", "Reaction"),
        ("np.log(y) ~ (1|g)", "np.log(y)"),
        ("np.log(y + 1) ~ (1|g)", "np.log(y + 1)"),
        ("`my y` ~ (1|g)", "`my y`"),
    ],
)
def test_response(formula, response):
    assert parse_formula(formula).response == response


def test_formula_kept_verbatim():
    formula = "y ~ x +\n (1 | g)"
    assert parse_formula(formula).formula == formula


@pytest.mark.parametrize(
    ("formula", "terms"),
    [
        ("y ~ (1|g)", ["1"]),
        ("y ~ -1 + (1|g) + x", ["x"]),
        ("y ~ (1|g) - 1", []),
        ("y ~ 0 + (1|g)", []),
        ("y ~ 0 + x + (1|g)", ["x"]),
        ("y ~ x + -1 + (1|g)", ["x"]),
        ("y ~ (a + b)^2 + (1|g)", ["1", "a", "b", "a:b"]),
    ],
)
def test_fixed_part_is_valid_formulaic(formula, terms):
    formulaic = pytest.importorskip("formulaic")
    assert [str(term) for term in formulaic.Formula(parse_formula(formula).fixed)] == terms


# --------------------------------------------------------------------------------------------
# errors


def caret_column(message: str) -> int:
    return message.splitlines()[-1].index("^") - 4


@pytest.mark.parametrize(
    ("formula", "fragment", "position"),
    [
        ("y ~ x ~ (1|g)", "more than one '~'", 6),
        (" ~ (1|g)", "no response", 1),
        ("y ~ ", "empty right-hand side", 2),
        ("y ~   \n ", "empty right-hand side", 2),
        ("y ~ x + ", "nothing after '+'", 6),
        ("y ~ x + (1|g) +", "nothing after '+'", 14),
        ("y ~ x * ", "nothing after '*'", 6),
        ("y ~ + ", "nothing after '+'", 4),
        ("y ~ * x + (1|g)", "nothing before '*'", 4),
        ("y ~ (1|g", "unmatched '('", 4),
        ("y ~ x + ((1|g)", "unmatched '('", 8),
        ("y ~ x) + (1|g)", "unmatched ')'", 5),
        ("y ~ C(x]) + (1|g)", "']' does not match the '('", 7),
        ("y ~ ( | g)", "nothing to the left of '|' in random-effects term '( | g)'", 6),
        ("y ~ (|| g)", "nothing to the left of '||'", 5),
        ("y ~ (1 | )", "no grouping factor to the right of '|' in random-effects term '(1 | )'", 7),
        ("y ~ (x ||)", "no grouping factor to the right of '||' in random-effects term", 7),
        ("y ~ x | g", "'|' outside parentheses in 'x | g'", 6),
        ("y ~ (1|g) + x || g", "'||' outside parentheses", 14),
        ("y | z ~ (1|g)", "'|' outside parentheses", 2),
        ("y ~ (1|g + h)", "grouping factor 'g + h' in '(1|g + h)'", 9),
        ("y ~ (1|log(g))", "grouping factor 'log(g)' in '(1|log(g))'", 10),
        ("y ~ (1|1)", "grouping factor '1'", 7),
        ("y ~ (1|:a)", "grouping factor ':a'", 7),
        ("y ~ (1|a b)", "grouping factor 'a b'", 9),
        ("y ~ (1|a/)", "nothing after '/' in the grouping factor of '(1|a/)'", 8),
        ("y ~ (1|g|h)", "more than one bar in random-effects term '(1|g|h)'", 8),
        ("y ~ (x + |g)", "nothing after '+'", 7),
        ("y ~ x * (1|g)", "random-effects term '(1|g)' must be a separate term", 8),
        ("y ~ (1|g):x", "random-effects term '(1|g)' must be a separate term", 4),
        ("y ~ x - (1|g)", "random-effects term '(1|g)' cannot be subtracted", 8),
        ("y ~ (0|g)", "random-effects term '(0|g)' has no intercept and no variables", 4),
        ("y ~ (x - 1 - x|g) + (-1|h)", "'(-1|h)' has no intercept", 20),
        ("y ~ (x - z||g)", "cannot remove 'z' in the double-bar term '(x - z||g)'", 9),
        ('y ~ C(x, "a) + (1|g)', "unterminated string", 9),
        ("y ~ `x + (1|g)", "unterminated backquoted name", 4),
    ],
)
def test_syntax_errors(formula, fragment, position):
    with pytest.raises(FormulaError) as info:
        parse_formula(formula)
    err = info.value
    assert fragment in str(err)
    assert err.position == position
    assert caret_column(str(err)) == position


def test_no_tilde():
    with pytest.raises(FormulaError, match="no '~'") as info:
        parse_formula("y + x + (1|g)")
    assert info.value.position is None
    assert "'y + x + (1|g)'" in str(info.value)


@pytest.mark.parametrize("formula", ["y ~ x", "y ~ x + z*w", "y ~ 1", "y ~ I(a | b)"])
def test_no_random_terms(formula):
    with pytest.raises(FormulaError, match="no random-effects terms") as info:
        parse_formula(formula)
    assert "linear model" in str(info.value)
    assert formula in str(info.value)


def test_caret_lines_up_in_multiline_formula():
    formula = "y ~ x +\n\t(1 | g +\n h)"
    with pytest.raises(FormulaError) as info:
        parse_formula(formula)
    pos = formula.index("g +") + 2
    assert info.value.position == pos
    assert caret_column(str(info.value)) == pos
    assert "\n" not in info.value.formula


def test_errors_are_catchable_as_value_error_and_package_error():
    with pytest.raises(ValueError, match="random-effects"):
        parse_formula("y ~ x")
    with pytest.raises(MixedModelsError):
        parse_formula("y ~ (1|")


def test_non_string_formula():
    with pytest.raises(TypeError, match="string"):
        parse_formula(3)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# properties

NAMES = ["x", "z", "Days", "w1", "my_var", "`my col`"]
GROUPS = ["g", "h", "Subject", "batch", "`grp 2`"]
FIXED_TERMS = [
    ["x"],
    ["z"],
    ["x", ":", "z"],
    ["np", ".", "log", "(", "x", ")"],
    ["I", "(", "x", "**", "2", ")"],
    ["C", "(", "f", ",", "Treatment", "(", '"b c"', ")", ")"],
    ["(", "a", "+", "b", ")", "^", "2"],
    ["{", "x", "+", "1", "}"],
    ["`my col`"],
]


@st.composite
def random_term_specs(draw):
    """(intercept, variables, double bar, groups as parts of ':'-joined names)."""
    variables = draw(st.lists(st.sampled_from(NAMES), max_size=3, unique=True))
    intercept = draw(st.booleans()) if variables else True
    parts = draw(
        st.lists(st.lists(st.sampled_from(GROUPS), min_size=1, max_size=2), min_size=1, max_size=3)
    )
    return intercept, variables, draw(st.booleans()), parts


def term_tokens(spec) -> list[str]:
    intercept, variables, double, parts = spec
    lhs = ["1" if intercept else "0"]
    for v in variables:
        lhs += ["+", v]
    group = list(chain.from_iterable([*part_tokens(p), "/"] for p in parts))[:-1]
    return ["(", *lhs, "||" if double else "|", *group, ")"]


def part_tokens(names: list[str]) -> list[str]:
    return list(chain.from_iterable([n, ":"] for n in names))[:-1]


def expected_terms(spec) -> list[tuple[str, tuple[str, ...]]]:
    intercept, variables, double, parts = spec
    names = [[n.strip("`") for n in part] for part in parts]
    groups = [tuple(chain.from_iterable(reversed(names[: k + 1]))) for k in range(len(names))]
    if double:
        lhss = (["1"] if intercept else []) + [f"0 + {v}" for v in variables]
    else:
        lhss = [" + ".join(["1" if intercept else "0", *variables])]
    return [(lhs, g) for lhs in lhss for g in groups]


@st.composite
def formulas(draw):
    """A token list for a formula and the parse it must give."""
    fixed = draw(st.lists(st.sampled_from(range(len(FIXED_TERMS))), max_size=3))
    specs = draw(st.lists(random_term_specs(), min_size=1, max_size=3))
    # interleave fixed and random terms in a random order
    items = [("f", i) for i in fixed] + [("r", s) for s in specs]
    items = draw(st.permutations(items))
    tokens = ["y", "~"]
    for kind, item in items:
        if len(tokens) > 2:
            tokens.append("+")
        tokens += FIXED_TERMS[item] if kind == "f" else term_tokens(item)
    fixed_texts = {
        0: "x",
        1: "z",
        2: "x:z",
        3: "np.log(x)",
        4: "I(x**2)",
        5: 'C(f, Treatment("b c"))',
        6: "(a + b)^2",
        7: "{x + 1}",
        8: "`my col`",
    }
    ordered_fixed = [item for kind, item in items if kind == "f"]
    ordered_specs = [item for kind, item in items if kind == "r"]
    expected = (
        "y",
        " + ".join(fixed_texts[i] for i in ordered_fixed) or "1",
        list(chain.from_iterable(expected_terms(s) for s in ordered_specs)),
    )
    return tokens, expected


def is_word(token: str) -> bool:
    return token[0].isalnum() or token[0] == "_"


@given(formulas(), st.data())
@settings(max_examples=200, deadline=None)
def test_generated_formulas_round_trip_and_ignore_whitespace(case, data):
    tokens, expected = case
    assert summary(parse_formula(" ".join(tokens))) == expected
    # any whitespace between tokens (required only between two words) gives the same parse
    text = tokens[0]
    for prev, tok in zip(tokens, tokens[1:]):
        need = is_word(prev) and is_word(tok)
        text += data.draw(st.text(alphabet=" \t\n", min_size=int(need), max_size=3)) + tok
    assert summary(parse_formula(text)) == expected


@given(formulas())
@settings(max_examples=100, deadline=None)
def test_parse_is_idempotent(case):
    tokens, _ = case
    parsed = parse_formula(" ".join(tokens))
    terms = " + ".join(f"({t.lhs} | {':'.join(f'`{n}`' for n in t.group)})" for t in parsed.random)
    again = parse_formula(f"{parsed.response} ~ {parsed.fixed} + {terms}")
    assert summary(again) == summary(parsed)
