"""Hand-reviewed catalogue entries name real objects of the installed (pinned) packages.

A dead entry (``numpy.core.memmap.memmap`` on numpy 2) is worse than useless: it says something was reviewed
that no longer exists. Resolving needs imports, which tests may do (scans never do).
"""

from __future__ import annotations

import importlib
import importlib.util
import warnings
from typing import Any

import pytest

from safeload.catalog.contracts import CONTRACTS, OTHER_VERSIONS
from safeload.catalog.reviewed import REVIEWED
from safeload.catalog.uses import Use

_MISSING = object()


def _resolve(name: str) -> Any:
    parts = name.split(".")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy.core and scipy.sparse.csr shims warn on access
        for i in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                continue
            for part in parts[i:]:
                obj = getattr(obj, part, _MISSING)
                if obj is _MISSING:
                    return _MISSING
            return obj
    return _MISSING


def _installed(name: str) -> bool:
    return importlib.util.find_spec(name.split(".", 1)[0]) is not None


@pytest.mark.parametrize("name", sorted((set(REVIEWED) | set(CONTRACTS)) - OTHER_VERSIONS))
def test_entry_names_a_real_object(name: str) -> None:
    if not _installed(name):
        pytest.skip(f"{name.split('.', 1)[0]} is not installed in this environment")
    assert _resolve(name) is not _MISSING, f"{name}: no such object in the installed packages (dead entry)"


def test_reviewed_entries_carry_a_review_note() -> None:
    assert all(entry.note for entry in REVIEWED.values())


def test_memmap_may_be_allocated_but_not_called() -> None:
    entry = REVIEWED["numpy.memmap"]
    assert entry.permits(Use.ALLOC | Use.BUILD)
    assert not entry.permits(Use.CALL) and not entry.permits(Use.INVOKE) and not entry.permits(Use.NEW)


# Callable classes a review permits to be called as instances, each for a reason in its note.
_CALLABLE_INSTANCES_REVIEWED = frozenset({
    "functools.partial",  # its contract models the call (the function is INVOKEd)
    "scipy.interpolate._bsplines.BSpline",  # __call__ evaluates the spline on numbers
    "sklearn.metrics._scorer._CurveScorer", "sklearn.metrics._scorer._MultimetricScorer",
    "sklearn.metrics._scorer._PassthroughScorer", "sklearn.metrics._scorer._Scorer",  # score the given estimator
    "torch.nn.modules.rnn.GRU", "torch.nn.modules.rnn.LSTM", "torch.nn.modules.rnn.RNN",
    "torch.nn.modules.rnn.RNNBase",  # forward over tensors (reviewed with RNNBase.__setstate__)
    "torch.optim.lr_scheduler.LambdaLR", "torch.optim.lr_scheduler.MultiplicativeLR",
    "torch.optim.lr_scheduler.CyclicLR",
    "torch.nn.utils.spectral_norm.SpectralNorm", "torch.nn.utils.spectral_norm.SpectralNormLoadStateDictPreHook",
    "torch.nn.utils.spectral_norm.SpectralNormStateDictHook",  # module hooks over tensors and metadata dicts
    "statsmodels.genmod.families.varfuncs.VarianceFunction",  # __call__(mu) is np.ones of mu's shape
    "statsmodels.tsa.statespace.initialization.Initialization",  # __call__ fills the model's initial arrays
    "sksurv.functions.StepFunction",  # __call__ is numpy on its argument and the state's arrays (hash-bound entry)
    # spaCy 3.8.18: nlp(text) calls the Language, its tokenizer and each component; what they call is what the
    # spacy_tokenizer / spacy_pipe_state / spacy_language_state contracts admitted (tests/test_spacy_pipeline.py)
    "spacy.tokenizer.Tokenizer", "spacy.pipeline.sentencizer.Sentencizer", "spacy.lang.en.English",
    *(f"sklearn._loss.loss.{name}" for name in (  # BaseLoss.__call__ averages the loss over arrays
        "AbsoluteError ExponentialLoss HalfBinomialLoss HalfBinomialLossArrayAPI HalfGammaLoss HalfMultinomialLoss "
        "HalfMultinomialLossArrayAPI HalfPoissonLoss HalfPoissonLossArrayAPI HalfSquaredError HalfTweedieLoss "
        "HalfTweedieLossIdentity HuberLoss PinballLoss").split()),
})


def test_call_instance_is_permitted_only_where_calling_an_instance_runs_nothing_chosen_by_the_file() -> None:
    """An attribute set by BUILD is an object the load may call (red team R2-5): CALL_INSTANCE in a reviewed
    entry means instances have no __call__, unless the class is reviewed by name above."""
    import importlib
    import warnings

    from safeload.catalog.reviewed import RESULTS_ARE_DATA, REVIEWED
    from safeload.catalog.uses import Use

    unexpected = []
    names = {name for name, entry in REVIEWED.items() if entry.uses & Use.CALL_INSTANCE} | RESULTS_ARE_DATA
    from safeload.catalog.reviewed import _reviewed_instance_calls

    names -= _reviewed_instance_calls()  # callable by design, each family reviewed in that file's header
    for name in sorted(names):
        if name in _CALLABLE_INSTANCES_REVIEWED:
            continue
        parts = name.split(".")
        obj: object = None
        for cut in range(len(parts) - 1, 0, -1):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # numpy.core and scipy.sparse.* aliases are deprecated
                    obj = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for attr in parts[cut:]:
                    obj = getattr(obj, attr, None)
            break
        if isinstance(obj, type) and any("__call__" in vars(k) for k in obj.__mro__ if k not in (object, type)):
            unexpected.append(name)
    assert not unexpected, unexpected
