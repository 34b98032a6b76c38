"""Baselines with the label model's API: majority vote and the class prior."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ._atomic import restore_on_error
from ._statistics import vote_counts
from ._validation import (
    _LabelMatrixMixin,
    check_gold_labels,
    check_sample_weight,
    check_weight_sum,
)

__all__ = ["MajorityClassVoter", "MajorityLabelVoter"]


class _BaseVoter(_LabelMatrixMixin, ClassifierMixin, BaseEstimator):
    _parameter_constraints: dict = {
        "cardinality": [Interval(Integral, 2, None, closed="left")],
    }

    def __init__(self, cardinality=2):
        self.cardinality = cardinality

    @_fit_context(prefer_skip_nested_validation=True)
    @restore_on_error
    def fit(self, L, y=None, sample_weight=None):
        """Record the shape of ``L`` and, where the voter needs it, the class balance.

        Parameters
        ----------
        L : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_sources)
            Votes: ``-1`` abstains, ``0..cardinality-1`` are classes.
        y : array-like of shape (n_samples,), default=None
            Optional gold labels, ``-1`` for unlabeled rows.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights, read as counts as in
            :meth:`LabelModel.fit`: :class:`MajorityClassVoter` weighs its
            class counts by them; :class:`MajorityLabelVoter`, which learns
            nothing from the rows, only validates them (so that the voters
            and :class:`LabelModel` can replace each other in a weighted
            pipeline or search).

        Returns
        -------
        self : object
            The fitted voter. A call that raises leaves the voter as it was
            before the call.
        """
        # the votes reset n_features_in_ (and the feature names) before y and
        # sample_weight are checked: a call that raises puts them back
        rows, cols, vals, (n, m) = self._validate_votes(L, reset=True)
        gold = check_gold_labels(y, n, self._cardinality)
        if sample_weight is not None:
            sample_weight = check_sample_weight(
                sample_weight, np.empty(n), ensure_non_negative=True
            )
            check_weight_sum(sample_weight)
        self.classes_ = np.arange(self._cardinality)
        self._fit(rows, cols, vals, n, m, gold, sample_weight)
        return self

    def predict(self, L):
        """Most probable class per row; exact ties go to the lowest class.

        Parameters
        ----------
        L : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_sources)
            Votes.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Values in ``classes_``; never ``-1``.
        """
        check_is_fitted(self)
        proba = self.predict_proba(L)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.categorical = True
        tags.target_tags.required = False
        return tags


class MajorityLabelVoter(_BaseVoter):
    """Majority vote over the non-abstaining sources.

    :meth:`predict_proba` spreads the mass evenly over the classes with the
    most votes (uniform over all classes where every source abstains);
    :meth:`predict` breaks ties toward the lowest class index.

    Parameters
    ----------
    cardinality : int, default=2
        Number of classes.

    Attributes
    ----------
    classes_ : ndarray of shape (cardinality,)
        ``np.arange(cardinality)``.
    n_features_in_ : int
        Number of sources seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (n_sources,)
        Source names, defined only when ``L`` is a DataFrame with string
        column names.

    See Also
    --------
    LabelModel : Weights sources by their learned accuracies.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_metal import MajorityLabelVoter
    >>> L = np.array([[0, 0, 1], [1, -1, 1], [-1, -1, -1]])
    >>> MajorityLabelVoter().fit(L).predict(L)
    array([0, 1, 0])
    """

    def _fit(self, rows, cols, vals, n, m, gold, sample_weight):
        pass

    def predict_proba(self, L):
        """Fraction of tied-top classes per row.

        Parameters
        ----------
        L : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_sources)
            Votes.

        Returns
        -------
        proba : ndarray of shape (n_samples, cardinality)
            Uniform over the classes with the most votes.
        """
        check_is_fitted(self)
        rows, cols, vals, (n, m) = self._validate_votes(L, reset=False)
        counts = vote_counts(rows, vals, n, self._cardinality)
        top = counts == counts.max(axis=1, keepdims=True)
        return top / top.sum(axis=1, keepdims=True)


class MajorityClassVoter(_BaseVoter):
    """Predict the class balance for every row, whatever the votes.

    The class balance is the distribution of the gold labels passed to
    :meth:`fit`, or of the non-abstain votes in ``L`` when there are none
    (rows of ``sample_weight`` 0 count as absent).

    Parameters
    ----------
    cardinality : int, default=2
        Number of classes.

    Attributes
    ----------
    classes_ : ndarray of shape (cardinality,)
        ``np.arange(cardinality)``.
    class_balance_ : ndarray of shape (cardinality,)
        The predicted distribution.
    n_features_in_ : int
        Number of sources seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (n_sources,)
        Source names, defined only when ``L`` is a DataFrame with string
        column names.

    See Also
    --------
    MajorityLabelVoter : Majority vote per row.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_metal import MajorityClassVoter
    >>> L = np.array([[0, 0, 1], [1, -1, 0], [0, -1, -1]])
    >>> MajorityClassVoter().fit(L).predict(L)
    array([0, 0, 0])
    """

    def _fit(self, rows, cols, vals, n, m, gold, sample_weight):
        w = sample_weight
        known = None if gold is None else gold >= 0
        if known is not None and w is not None:
            known &= w > 0  # a row of weight 0 is absent, its gold label too
        if known is not None and known.any():
            counts = np.bincount(
                gold[known],
                weights=None if w is None else w[known],
                minlength=self._cardinality,
            )
        else:
            counts = np.bincount(
                vals,
                weights=None if w is None else w[rows],
                minlength=self._cardinality,
            )
        counts = counts.astype(np.float64) + 1e-12
        self.class_balance_ = counts / counts.sum()

    def predict_proba(self, L):
        """The class balance, repeated for every row.

        Parameters
        ----------
        L : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_sources)
            Votes (validated, otherwise ignored).

        Returns
        -------
        proba : ndarray of shape (n_samples, cardinality)
        """
        check_is_fitted(self)
        _, _, _, (n, _) = self._validate_votes(L, reset=False)
        return np.tile(self.class_balance_, (n, 1))
