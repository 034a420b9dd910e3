"""Substitution parsing and evaluation (ROS-free)."""

import os

import pytest

from edgebot_cli.launcher.substitutions import (
    Context,
    Subst,
    SubstitutionError,
    parse,
    safe_eval,
    to_bool,
)


def test_parse_nested_and_quoted():
    parts = parse("a $(find-pkg-share $(var pkg))/x $(env 'A B' 'd e')")
    assert parts[0] == "a "
    assert isinstance(parts[1], Subst) and parts[1].name == "find-pkg-share"
    inner = parts[1].args[0][0]
    assert isinstance(inner, Subst) and inner.name == "var" and inner.args == [["pkg"]]
    env = parts[3]
    assert env.args == [["A B"], ["d e"]]


def test_var_env_optenv_eval_logic():
    ctx = Context(variables={"x": "3", "flag": "true"}, environ={"HOME_X": "/h"})
    assert ctx.evaluate("$(var x)!") == "3!"
    assert ctx.evaluate("$(env HOME_X)/a") == "/h/a"
    assert ctx.evaluate("$(env MISSING fallback)") == "fallback"
    assert ctx.evaluate("[$(optenv MISSING)]") == "[]"
    assert ctx.evaluate("$(eval '$(var x) * 2 + 1')") == "7"
    assert ctx.evaluate("$(eval '$(var x) > 2')") == "true"
    assert ctx.evaluate("$(not $(var flag))") == "false"
    assert ctx.evaluate("$(and $(var flag) 1)") == "true"
    assert ctx.evaluate("$(or false 0)") == "false"
    assert ctx.evaluate("$(equals $(var x) 3)") == "true"


def test_anon_is_stable_within_a_launch_and_unique_across_names():
    ctx = Context()
    a1, a2, b = ctx.evaluate("$(anon a)"), ctx.evaluate("$(anon a)"), ctx.evaluate("$(anon b)")
    assert a1 == a2 and a1 != b and a1.startswith("a_")


def test_find_pkg_share_uses_the_ament_index():
    ctx = Context()
    share = ctx.evaluate("$(find-pkg-share edgebot_common)")
    assert share.endswith("share/edgebot_common")
    assert os.path.isfile(os.path.join(share, "package.xml"))


@pytest.mark.parametrize(
    "text, message",
    [
        ("$(var nope)", "launch variable 'nope' is not set"),
        ("$(env EDGEBOT_SURELY_UNSET_123)", "environment variable"),
        ("$(bogus x)", "unknown substitution"),
        ("$(var a", "unterminated"),
        ("$(find-pkg-share no_such_package_xyz)", "package 'no_such_package_xyz' not found"),
        ("$(eval '__import__(\"os\")')", "unsupported expression"),
        ("$(var a b)", "takes 1 argument"),
    ],
)
def test_errors_are_explicit(text, message):
    with pytest.raises(SubstitutionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Context(environ={}).evaluate(text)


def test_to_bool_is_strict():
    assert to_bool("True") and to_bool("1") and not to_bool("false") and not to_bool("0")
    with pytest.raises(SubstitutionError):
        to_bool("yes")
    assert safe_eval("1 + 2 * 3") == 7
