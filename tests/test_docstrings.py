"""The numpydoc sections of every public class and function agree with its code.

For each public name (the ``__all__`` of the package and of its public
modules): the docstring has an Examples section with a doctest; the Parameters
section lists the signature's parameters in order, with the signature's
defaults; where the parameters are validated by scikit-learn's
``_parameter_constraints`` / ``validate_params``, the documented types, string
options and ``None`` match the constraints; the Attributes section of an
estimator lists exactly the fitted attributes a fit sets; and every See Also
entry names something that exists.
"""

import ast
import importlib
import importlib.util
import inspect
import pkgutil
import re
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
import pytest
import skorch
from numpydoc.docscrape import NumpyDocString
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions

import sklearn_metal
from sklearn_metal import (
    EndModel,
    LabelingFunction,
    LabelModel,
    LFApplier,
    MajorityClassVoter,
    MajorityLabelVoter,
    MultitaskClassifier,
    MultitaskLabelModel,
    MultitaskTrainer,
    TaskGraph,
)
from sklearn_metal.multitask import MultitaskModule


def _public_objects():
    """Every public class and function named in an ``__all__`` of the package."""
    modules = ["sklearn_metal"] + [
        f"sklearn_metal.{info.name}"
        for info in pkgutil.iter_modules(sklearn_metal.__path__)
        if not info.name.startswith("_")
    ]
    found = {}
    for name in modules:
        module = importlib.import_module(name)
        for attr in module.__all__:
            obj = getattr(module, attr)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                found.setdefault(f"{obj.__module__}.{obj.__qualname__}", obj)
    return sorted(found.items())


PUBLIC = _public_objects()
PUBLIC_IDS = [name for name, _ in PUBLIC]
PUBLIC_OBJECTS = [obj for _, obj in PUBLIC]
CLASSES = [obj for obj in PUBLIC_OBJECTS if inspect.isclass(obj)]


def _public_methods():
    """Public methods defined in the package's public classes that document
    their parameters. (Overrides of skorch hooks such as ``get_loss`` keep
    skorch's documentation and have no Parameters section of their own.)"""
    found = []
    for cls in CLASSES:
        for name, method in vars(cls).items():
            if name.startswith("_") or not inspect.isfunction(method):
                continue
            if NumpyDocString(inspect.getdoc(method) or "")["Parameters"]:
                found.append((f"{cls.__module__}.{cls.__qualname__}.{name}", method))
    return found


METHODS = _public_methods()


def _doc(obj):
    return NumpyDocString(inspect.getdoc(obj) or "")


def _signature(obj):
    """The documented callable's parameters, without ``self``."""
    func = obj.__init__ if inspect.isclass(obj) else obj
    params = list(inspect.signature(func).parameters.values())
    return [p for p in params if p.name != "self"]


def _sig_name(param):
    prefix = {param.VAR_POSITIONAL: "*", param.VAR_KEYWORD: "**"}
    return prefix.get(param.kind, "") + param.name


def _documented(obj):
    """``{name: type text}`` of the Parameters section, in order; an entry
    ``a, b : type`` documents both."""
    out = {}
    for entry in _doc(obj)["Parameters"]:
        for name in entry.name.split(","):
            out[name.strip()] = entry.type
    return out


def _split_default(type_text):
    """``(type, default text or None)`` of a parameter's type line."""
    match = re.search(r"(?:^|,\s*)default=(.*)$", type_text)
    if match is None:
        return type_text, None
    return type_text[: match.start()], match.group(1).strip()


def _resolve(name, context):
    """The object a docstring's ``name`` refers to from the module ``context``:
    a dotted import path, or a name (``Class.method`` too) in that module or
    in ``sklearn_metal``; raise ``LookupError`` when none exists."""
    name = name.strip().lstrip("~")
    head, *rest = name.split(".")
    for namespace in (vars(context), vars(sklearn_metal)):
        if head in namespace:
            obj = namespace[head]
            for part in rest:
                obj = getattr(obj, part)
            return obj
    for i in range(len(rest), 0, -1):
        module_name = ".".join([head, *rest[: len(rest) - i]])
        try:
            obj = importlib.import_module(module_name)
        except ImportError:
            continue
        for part in rest[len(rest) - i :]:
            obj = getattr(obj, part)
        return obj
    try:
        return importlib.import_module(name)
    except ImportError:
        raise LookupError(name) from None


def _default_matches(text, value, context):
    """Whether the documented default ``text`` is the actual default ``value``:
    a Python literal of the same type and value, or the name of the class or
    function that is the default."""
    if inspect.isclass(value) or inspect.isfunction(value):
        try:
            return _resolve(text, context) is value
        except (LookupError, AttributeError):
            return False
    try:
        literal = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return False
    return type(literal) is type(value) and literal == value


# -------------------------------------------------------------------- examples
@pytest.mark.parametrize("obj", PUBLIC_OBJECTS, ids=PUBLIC_IDS)
def test_public_names_have_a_numpydoc_docstring_with_an_example(obj):
    doc = inspect.getdoc(obj) or ""
    assert "\nExamples\n--------\n" in doc, "no Examples section"
    assert ">>> " in doc.split("\nExamples\n--------\n", 1)[1], "no doctest example"
    if inspect.isclass(obj) or inspect.signature(obj).parameters:
        assert "\nParameters\n----------\n" in doc, "no Parameters section"


# ------------------------------------------------------------------ parameters
CALLABLES = PUBLIC_OBJECTS + [method for _, method in METHODS]
CALLABLE_IDS = PUBLIC_IDS + [name for name, _ in METHODS]


@pytest.mark.parametrize("obj", CALLABLES, ids=CALLABLE_IDS)
def test_documented_parameters_follow_the_signature(obj):
    documented = list(_documented(obj))
    assert documented == [_sig_name(p) for p in _signature(obj)]


@pytest.mark.parametrize("obj", CALLABLES, ids=CALLABLE_IDS)
def test_documented_defaults_are_the_actual_defaults(obj):
    documented = _documented(obj)
    context = inspect.getmodule(obj)
    for param in _signature(obj):
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        type_text, default = _split_default(documented[param.name])
        if param.default is param.empty:
            assert default is None, f"{param.name} is required but documents {default}"
        elif type_text.strip().lower() == "ignored":
            continue  # ``y : Ignored``, the scikit-learn convention
        else:
            assert default is not None, f"{param.name} documents no default"
            assert _default_matches(default, param.default, context), (
                f"{param.name}: documented default={default}, actual {param.default!r}"
            )


# ----------------------------------------------------------------- constraints
def _constrained():
    """Public callables with scikit-learn parameter constraints."""
    out = []
    for name, obj in PUBLIC:
        constraints = getattr(obj, "_parameter_constraints", None)
        if constraints is None:
            constraints = getattr(obj, "_skl_parameter_constraints", None)
        if constraints is not None:
            out.append((name, obj, constraints))
    return out


CONSTRAINED = _constrained()

# What the type line must say for each kind of constraint.
_TYPE_WORDS = [
    (lambda c: isinstance(c, Interval) and c.type is Integral, ("int",)),
    (lambda c: isinstance(c, Interval) and c.type is Real, ("float",)),
    (lambda c: c == "boolean", ("bool",)),
    (lambda c: c == "random_state", ("RandomState",)),
    (lambda c: c == "verbose", ("int", "bool")),
    (lambda c: c == "sparse matrix", ("sparse matrix",)),
    (lambda c: c == "array-like", ("array-like", "list", "dict")),
]


@pytest.mark.parametrize(
    "obj, constraints",
    [(obj, constraints) for _, obj, constraints in CONSTRAINED],
    ids=[name for name, _, _ in CONSTRAINED],
)
def test_documented_types_match_the_parameter_constraints(obj, constraints):
    documented = _documented(obj)
    params = {
        p.name: p
        for p in _signature(obj)
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }
    assert set(constraints) == set(params), "every parameter has a constraint"
    for name, kinds in constraints.items():
        if kinds == "no_validation":
            continue
        type_text, _ = _split_default(documented[name])
        options = set()
        for c in kinds:
            if isinstance(c, StrOptions):
                options |= c.options - c.deprecated
        quoted = set(re.findall(r'"([^"]*)"', type_text))
        assert quoted == options, f"{name}: documented {quoted}, allowed {options}"
        default = params[name].default
        # scikit-learn's "random_state" constraint takes None as well
        allows_none = None in kinds or "random_state" in kinds
        if default is None:
            assert allows_none, f"{name}: the default None is not allowed"
        else:
            assert ("None" in type_text) == allows_none, (
                f"{name}: {type_text!r} but None allowed is {allows_none}"
            )
        for c in kinds:
            for applies, words in _TYPE_WORDS:
                if applies(c):
                    assert any(w in type_text for w in words), (
                        f"{name}: {type_text!r} does not say {words} for {c}"
                    )


# skorch parameters that EndModel and MultitaskClassifier inherit from
# ``skorch.NeuralNet.__init__`` without naming them in their own signatures:
# both docstrings cover them under ``**kwargs`` ("Other skorch parameters") and
# link to skorch rather than repeat its documentation.
_SKORCH_KWARGS = {
    EndModel: {
        "predict_nonlinearity",
        "warm_start",
        "compile",
        "use_caching",
        "torch_load_kwargs",
    },
    # MultitaskClassifier builds its own dataset and task batches, so skorch's
    # ``dataset`` and ``iterator_*`` are not in its signature either (its
    # docstring says they raise a ValueError when set).
    MultitaskClassifier: {
        "predict_nonlinearity",
        "warm_start",
        "compile",
        "use_caching",
        "torch_load_kwargs",
        "dataset",
        "iterator_train",
        "iterator_valid",
    },
}


@pytest.mark.parametrize("Net", list(_SKORCH_KWARGS))
def test_skorch_parameters_outside_the_signature_are_listed(Net):
    skorch_params = set(inspect.signature(skorch.NeuralNet.__init__).parameters)
    assert _SKORCH_KWARGS[Net] <= skorch_params
    assert "**kwargs" in _documented(Net)
    own = {p.name for p in _signature(Net)}
    public = {k for k in Net().get_params(deep=False) if not k.startswith("_")}
    assert public - own == _SKORCH_KWARGS[Net]


def _string_options(type_text):
    return set(re.findall(r'"([^"]*)"', _split_default(type_text)[0]))


def _net_data():
    return _feature_frame(), _Y


# Estimators that validate their parameters in their own code, not through
# ``_parameter_constraints`` (skorch owns the nets' ``__init__`` and
# ``set_params``), so scikit-learn's ``check_param_validation`` does not see
# them: (make the estimator, its fit data, extra parameters per option).
_OWN_VALIDATION = {
    EndModel: (
        lambda **kw: EndModel(
            hidden_layer_sizes=(4,), max_epochs=1, train_split=None, verbose=0, **kw
        ),
        _net_data,
        {},
    ),
    MultitaskClassifier: (
        lambda **kw: MultitaskClassifier(
            hidden_layer_sizes=(4,), max_epochs=1, verbose=0, **kw
        ),
        _net_data,
        {"log_writer": lambda tmp: {"log_dir": str(tmp)}},
    ),
    LFApplier: (
        lambda **kw: LFApplier([LabelingFunction("f", lambda row: 0)], **kw),
        lambda: (_feature_frame(),),
        {},
    ),
}


def _options():
    """``(class, parameter, options)`` for every parameter of those estimators
    whose docstring lists string options."""
    out = []
    for cls in _OWN_VALIDATION:
        for name, type_text in _documented(cls).items():
            if _string_options(type_text):
                out.append((cls, name, _string_options(type_text)))
    return out


# String options that need an optional dependency: the extra that installs it.
_EXTRAS = {"tensorboard": "sklearn_metal[tensorboard]"}


@pytest.mark.parametrize(
    "cls, name, options",
    _options(),
    ids=[f"{cls.__name__}.{name}" for cls, name, _ in _options()],
)
def test_documented_string_options_are_the_accepted_ones(cls, name, options, tmp_path):
    make, data, extra = _OWN_VALIDATION[cls]
    with pytest.raises(ValueError, match=name):
        make(**{name: "not-an-option"}).fit(*data())
    for option in sorted(options):
        params = extra[name](tmp_path) if name in extra else {}
        if option in _EXTRAS and importlib.util.find_spec(option) is None:
            # an option of an extra that is not installed names the extra
            with pytest.raises(ImportError, match=re.escape(_EXTRAS[option])):
                make(**{name: option}, **params).fit(*data())
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            make(**{name: option}, **params).fit(*data())


# ------------------------------------------------------------------ attributes
def _label_frame():
    return pd.DataFrame(
        {"a": [0, 1, 0, 1, -1, 0], "b": [0, 1, 1, 1, 0, -1], "c": [1, 1, 0, -1, 0, 0]}
    )


def _feature_frame():
    rng = np.random.RandomState(0)
    return pd.DataFrame(rng.randn(12, 3).astype(np.float32), columns=["x", "y", "z"])


_Y = np.array([0, 1] * 6)

# One tiny fit per public estimator (and per fitting method), on DataFrames so
# that ``feature_names_in_`` is set too.
FITS = {
    "LabelModel.fit": lambda: LabelModel().fit(_label_frame()),
    "LabelModel.partial_fit": lambda: LabelModel().partial_fit(_label_frame()),
    "MajorityLabelVoter.fit": lambda: MajorityLabelVoter().fit(_label_frame()),
    "MajorityClassVoter.fit": lambda: MajorityClassVoter().fit(_label_frame(), _Y[:6]),
    "EndModel.fit": lambda: EndModel(max_epochs=1, verbose=0).fit(_feature_frame(), _Y),
    "EndModel.partial_fit": lambda: EndModel(max_epochs=1, verbose=0).partial_fit(
        _feature_frame(), _Y, classes=[0, 1]
    ),
    "MultitaskLabelModel.fit": lambda: MultitaskLabelModel(TaskGraph([2])).fit(
        _label_frame()
    ),
    "MultitaskClassifier.fit": lambda: MultitaskClassifier(max_epochs=1, verbose=0).fit(
        _feature_frame(), _Y
    ),
    "MultitaskClassifier.partial_fit": lambda: MultitaskClassifier(
        {"t": 2}, max_epochs=1, verbose=0
    ).partial_fit(_feature_frame(), {"t": _Y}),
    "MultitaskTrainer.fit": lambda: MultitaskTrainer(
        MultitaskClassifier({"t": 2}, max_epochs=1, verbose=0)
    ).fit(_feature_frame(), {"t": _Y}),
    "LFApplier.fit": lambda: LFApplier([LabelingFunction("f", lambda row: 0)]).fit(
        _feature_frame()
    ),
}

# Fitted attributes that every skorch net sets in ``NeuralNet.initialize``;
# EndModel and MultitaskClassifier document only the ones they add or that
# users read (``module_``, ``history_``) and leave these to skorch's docs.
_SKORCH_ATTRIBUTES = {
    "callbacks_",
    "criterion_",
    "cuda_dependent_attributes_",
    "init_context_",
    "initialized_",
    "optimizer_",
    "prefixes_",
    "virtual_params_",
}


def test_every_public_estimator_has_a_fit_here():
    estimators = {c.__name__ for c in CLASSES if issubclass(c, BaseEstimator)}
    assert estimators == {key.split(".")[0] for key in FITS}


@pytest.mark.parametrize("fit", list(FITS.values()), ids=list(FITS))
def test_documented_attributes_are_the_fitted_ones(fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. convergence on 6 rows
        estimator = fit()
    documented = {a.name for a in _doc(type(estimator))["Attributes"]}
    fitted = {k for k in vars(estimator) if k.endswith("_") and not k.startswith("_")}
    if isinstance(estimator, skorch.NeuralNet):
        fitted -= _SKORCH_ATTRIBUTES
    assert fitted == documented


@pytest.mark.parametrize(
    "instance",
    [
        TaskGraph({"a": 2, "b": 3}, edges=[("a", "b", [0])]),
        MultitaskModule(3, {"a": 2}),
    ],
    ids=lambda obj: type(obj).__name__,
)
def test_documented_attributes_of_other_classes_exist(instance):
    documented = [a.name for a in _doc(type(instance))["Attributes"]]
    assert documented
    for name in documented:
        assert hasattr(instance, name), name


# -------------------------------------------------------------------- see also
@pytest.mark.parametrize("obj", PUBLIC_OBJECTS, ids=PUBLIC_IDS)
def test_see_also_entries_exist(obj):
    context = inspect.getmodule(obj)
    for names, _ in _doc(obj)["See Also"]:
        for name, _ in names:
            _resolve(name, context)  # raises LookupError or AttributeError
