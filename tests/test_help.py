"""``--help`` states every argument's meaning, default and choices; API errors name parameters."""

import argparse

import pytest

from discrete_eit import conductivity_profile, generate_dataset, reconstruct
from discrete_eit.cli import build_parser, main, shown_default
from discrete_eit.methods import Option, OptionError, load_methods
from discrete_eit.methods.registry import Method

_NO_VALUE = (argparse._StoreTrueAction, argparse._StoreFalseAction, argparse._StoreConstAction)


def _parsers(parser, prog="discrete-eit"):
    """(prog, parser) of the top level and every (nested) sub-command."""
    yield prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{prog} {name}")


def _rendered(parser, action) -> str:
    """What ``--help`` prints for one action, unwrapped (so words are not split across lines)."""
    formatter = argparse.HelpFormatter(parser.prog, width=100_000)
    return " ".join(formatter._format_action(action).split())


def help_problems(parser) -> list[str]:
    """Arguments whose help lacks a meaning, a default (optional ones) or a choice."""
    problems = []
    for prog, p in _parsers(parser):
        for action in p._actions:
            if isinstance(action, (argparse._HelpAction, argparse._VersionAction,
                                   argparse._SubParsersAction)):
                continue
            name = f"{prog} {'/'.join(action.option_strings) or action.dest}"
            if not action.help or action.help == argparse.SUPPRESS:
                problems.append(f"{name}: no help")
                continue
            if action.dest.startswith("opt_"):  # method options: see method_option_problems
                continue
            text = _rendered(p, action)
            chosen = any(action in g._group_actions for g in p._mutually_exclusive_groups if g.required)
            optional = not (action.required or chosen) and (action.option_strings or action.nargs == "?")
            if optional and "default" not in text:
                problems.append(f"{name}: help does not state the default")
            if optional and action.default not in (None, argparse.SUPPRESS) \
                    and not isinstance(action, _NO_VALUE) and str(action.default) not in text:
                problems.append(f"{name}: help does not show the default {action.default!r}")
            for choice in action.choices or ():
                if str(choice) not in text:
                    problems.append(f"{name}: help does not show the choice {choice!r}")
    return problems


def method_option_problems(parser, methods) -> list[str]:
    """Method options whose flag's help lacks their help text, default or choices."""
    reconstruct_parser = dict(_parsers(parser))["discrete-eit reconstruct"]
    actions = {a.dest: a for a in reconstruct_parser._actions}
    problems = []
    for method in methods.values():
        for o in method.options:
            name = f"{method.name}.{o.name}"
            action = actions.get("opt_" + o.name)
            if action is None:
                problems.append(f"{name}: no flag")
                continue
            text = _rendered(reconstruct_parser, action)
            if not o.help.strip():
                problems.append(f"{name}: no help")
            elif o.default is None:
                if "default" not in o.help:
                    problems.append(f"{name}: default None, and the help does not say what that means")
            elif f"{o.help} (default: {shown_default(o.default)}" not in text:
                problems.append(f"{name}: help does not show the default {shown_default(o.default)}")
            if o.choices and f"choices: {', '.join(map(str, o.choices))}" not in text:
                problems.append(f"{name}: help does not show the choices {o.choices}")
    return problems


def test_every_argument_and_option_is_explained():
    parser = build_parser()
    assert help_problems(parser) == []
    assert method_option_problems(parser, load_methods()) == []


def test_the_help_check_fails_on_an_unexplained_argument():
    parser = build_parser()
    sub = dict(_parsers(parser))["discrete-eit evaluate"]
    sub.add_argument("--new-flag", type=int, default=3)
    sub.add_argument("--new-number", type=int, default=5, help="a number")
    sub.add_argument("--new-choice", default="a", choices=["a", "b"], help="pick (default: %(default)s)")
    assert help_problems(parser) == ["discrete-eit evaluate --new-flag: no help",
                                     "discrete-eit evaluate --new-number: help does not state the default",
                                     "discrete-eit evaluate --new-number: help does not show the default 5"]


def test_the_help_check_fails_on_an_option_without_help():
    methods = {**load_methods()}
    methods["mine"] = Method("mine", lambda d, **o: None, (Option("knob", int, 3, ""),), "test method")
    methods["mine2"] = Method("mine2", lambda d, **o: None, (Option("dial", float, None, "a dial"),), "")
    parser = build_parser()
    reconstruct_parser = dict(_parsers(parser))["discrete-eit reconstruct"]
    for m in ("mine", "mine2"):
        for o in methods[m].options:
            reconstruct_parser.add_argument("--" + o.name, dest="opt_" + o.name, help=o.help or "x")
    assert method_option_problems(parser, methods) == [
        "mine.knob: no help", "mine2.dial: default None, and the help does not say what that means"]


def test_help_shows_defaults_and_choices():
    text = " ".join(dict(_parsers(build_parser()))["discrete-eit reconstruct"].format_help().split())
    assert "(default: two-sided; choices: two-sided, one-sided; methods: cm)" in text
    assert "Adam iteration budget (a cap for every stop rule) (default: 200000; methods: nn)" in text
    assert ("maximum number of Levenberg-Marquardt steps (default: max(200, 4·2^(n/2)), enough for exact "
            "data up to n = 16) (methods: nn_fast, ols, tikhonov)") in text
    assert "authors (E1..En, Sn..S1, Wn..W1, N1..Nn) (default: ours)" in text


# ---- the API speaks in parameters, the CLI in flags -----------------------------------------
@pytest.fixture(scope="module")
def tiny():
    return generate_dataset(conductivity_profile("wave", 2), 2)


@pytest.mark.parametrize("options, message", [
    ({"bogus": 1}, "cm: unknown option 'bogus' (known: variant, solve, completion_pinv)"),
    ({"variant": "diagonal"}, "cm: option 'variant' must be one of two-sided, one-sided, got 'diagonal'"),
])
def test_api_option_errors_name_parameters(tiny, options, message):
    with pytest.raises(OptionError) as exc:
        reconstruct("cm", tiny, **options)
    assert str(exc.value) == message and "--" not in str(exc.value)


@pytest.mark.parametrize("options, message", [
    ({"lam": "ten"}, "nn_fast: option 'lam' must be of type float, got 'ten'"),
    ({"max_iterations": 2.5}, "nn_fast: option 'max_iterations' must be of type int, got 2.5"),
    ({"init": 1}, "nn_fast: option 'init' must be of type str, got 1"),
])
def test_api_option_types_are_checked(tiny, options, message):
    with pytest.raises(OptionError) as exc:
        reconstruct("nn_fast", tiny, **options)
    assert str(exc.value) == message


def test_api_accepts_ints_for_float_options(tiny):
    assert reconstruct("nn_fast", tiny, lam=10, max_iterations=5).gamma.shape == (12,)


def test_cli_option_errors_name_flags(tmp_path, capsys):
    data = tmp_path / "d.npz"
    assert main(["generate", "--n", "2", "--out", str(data)]) == 0
    out = tmp_path / "r.npz"
    code = main(["reconstruct", "--method", "cm", "--data", str(data), "--max-iterations", "3",
                 "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert err == ("discrete-eit: error: cm: unknown option --max-iterations (known: --variant, --solve, "
                   "--completion-pinv)\n")
    assert not out.exists()
