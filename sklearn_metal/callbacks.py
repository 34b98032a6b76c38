"""skorch callbacks for the end models: validation scoring and early stopping."""

import warnings

import numpy as np
from sklearn.metrics import check_scoring
from skorch.callbacks import Callback, EarlyStopping

__all__ = ["ValidationEarlyStopping", "ValidationScoring"]


class ValidationScoring(Callback):
    """Score the validation set with any scikit-learn scorer after each epoch.

    Soft validation labels are scored against their argmax, so accuracy-like
    scorers work whether the net was trained on hard or soft labels. Epochs
    without validation (see ``valid_every`` of the net) record nothing.

    Parameters
    ----------
    scoring : str or callable, default="accuracy"
        A scikit-learn scorer name or a callable ``scorer(estimator, X, y)``.
    name : str, default="valid_score"
        Key under which the score is recorded in the history.

    Examples
    --------
    >>> from sklearn_metal.callbacks import ValidationScoring
    >>> ValidationScoring("f1_macro").name
    'valid_score'
    """

    def __init__(self, scoring="accuracy", name="valid_score"):
        self.scoring = scoring
        self.name = name

    def initialize(self):
        """Reset the best score seen; returns the callback."""
        self.best_score_ = -np.inf
        return self

    def on_train_begin(self, net, **kwargs):
        """Start each fit or partial_fit call's own best epoch (``*_best``)."""
        self.best_score_ = -np.inf

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        """Score the validation set of an epoch that ran one."""
        if dataset_valid is None or "valid_batch_count" not in net.history[-1]:
            return
        y = dataset_valid.y
        idx = np.argmax(y, axis=1) if y.ndim == 2 else y
        y_true = net.classes_[idx]
        scorer = check_scoring(net, scoring=self.scoring)
        with warnings.catch_warnings():
            # the stored validation rows are arrays, whatever the fit input was
            warnings.filterwarnings("ignore", message="X does not have valid feature")
            score = float(scorer(net, dataset_valid.X, y_true))
        is_best = score > self.best_score_
        if is_best:
            self.best_score_ = score
        net.history.record(self.name, score)
        net.history.record(self.name + "_best", bool(is_best))


class ValidationEarlyStopping(EarlyStopping):
    """skorch's ``EarlyStopping`` that waits while no validation score exists.

    It monitors ``valid_score`` (higher is better) by default, skips epochs
    without validation, and with ``load_best=True`` restores the weights of
    the best epoch at the end of training. An epoch improves on the best
    when its score is better by more than ``threshold`` times ``|best|``
    (``threshold_mode="rel"``, skorch's default of ``1e-4``), for negative
    scores such as ``neg_log_loss`` too.

    Parameters
    ----------
    monitor : str, default="valid_score"
        History key to watch.
    patience : int, default=5
        Validated epochs without improvement before stopping.
    lower_is_better : bool, default=False
        Whether smaller values of ``monitor`` are better.
    load_best : bool, default=True
        Restore the best epoch's weights when training ends.
    **kwargs
        Passed to :class:`skorch.callbacks.EarlyStopping`.

    Examples
    --------
    >>> from sklearn_metal.callbacks import ValidationEarlyStopping
    >>> ValidationEarlyStopping(patience=3).patience
    3
    """

    def __init__(
        self,
        monitor="valid_score",
        patience=5,
        lower_is_better=False,
        load_best=True,
        **kwargs,
    ):
        super().__init__(
            monitor=monitor,
            patience=patience,
            lower_is_better=lower_is_better,
            load_best=load_best,
            **kwargs,
        )

    def on_epoch_end(self, net, **kwargs):
        """Early-stopping bookkeeping, for epochs that were validated only."""
        if self.monitor not in net.history[-1]:
            return
        super().on_epoch_end(net, **kwargs)

    def _calc_new_threshold(self, score):
        """The value the next score must beat: ``score`` moved by
        ``threshold`` (times ``|score|`` in the "rel" mode) in the better
        direction.

        skorch's own multiplies by ``score``, which for a negative score
        (``neg_log_loss``, higher is better) moves the bar below it: each
        slightly worse epoch then counted as an improvement, reset the
        patience and became the epoch restored at the end.
        """
        change = self.threshold
        if self.threshold_mode == "rel":
            change = self.threshold * abs(score)
        return score - change if self.lower_is_better else score + change
