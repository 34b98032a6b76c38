"""
From votes to a trained classifier
==================================

Turn the votes of noisy sources into soft labels with a
:class:`~sklearn_metal.LabelModel`, then train an
:class:`~sklearn_metal.EndModel` on features with those soft labels. The end model
generalizes to rows on which no source voted.
"""

# %%
# Synthetic data: features ``X`` and five sources, each voting on 30% of the rows,
# so that about 0.7 ** 5 = 17% of the rows get no vote.
import numpy as np

from sklearn_metal import EndModel, LabelModel
from sklearn_metal.datasets import make_label_matrix

rng = np.random.RandomState(0)
L, y, _ = make_label_matrix(2000, 5, coverages=0.3, random_state=0)
X = (y[:, None] + rng.randn(2000, 8)).astype(np.float32)
print("rows no source voted on:", np.mean((L == -1).all(axis=1)))

# %%
# Soft labels from the votes alone.
soft = LabelModel().fit(L).predict_proba(L)

# %%
# An end model trained on the soft labels; score it against the true classes.
model = EndModel(hidden_layer_sizes=(32,), max_epochs=20, verbose=0, random_state=0)
model.fit(X, soft)
print("label model accuracy:", np.mean(soft.argmax(axis=1) == y))
print("end model accuracy:  ", model.score(X, y))
