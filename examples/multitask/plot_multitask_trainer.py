"""
Multi-task weak supervision in one estimator
============================================

Three related tasks, each labelled differently: task ``a`` by a weak label matrix
(votes), task ``b`` by soft labels on part of the rows, task ``c`` by a few hard gold
labels. :func:`~sklearn_metal.task_labels` packs them into one DataFrame whose rows
split like any other, so :class:`~sklearn_metal.MultitaskTrainer` composes with
``GridSearchCV``; votes go through a label model cloned per task.
"""

# %%
import os

import numpy as np
from sklearn.model_selection import GridSearchCV

from sklearn_metal import MultitaskClassifier, MultitaskTrainer, Votes, task_labels

FAST = os.environ.get("SKLEARN_METAL_EXAMPLES_FAST") == "1"
rng = np.random.RandomState(0)
n = 1200
X = rng.randn(n, 10).astype(np.float32)
shared = X[:, 0] + 0.5 * X[:, 1]
a = (shared > 0).astype(int)
b = (shared + 0.5 * X[:, 2] > 0).astype(int)
c = (shared - 0.5 * X[:, 3] > 0).astype(int)

# %%
# Task ``a``: five noisy sources that vote on 60% of the rows.
votes = np.where(rng.rand(n, 5) < 0.75, a[:, None], 1 - a[:, None])
votes[rng.rand(n, 5) < 0.4] = -1
# Task ``b``: soft labels on the first half of the rows (NaN rows: unlabeled).
soft_b = np.full((n, 2), np.nan)
soft_b[: n // 2] = np.eye(2)[b[: n // 2]] * 0.8 + 0.1
# Task ``c``: 60 gold labels, -1 elsewhere.
hard_c = np.full(n, -1)
gold = rng.choice(n, size=60, replace=False)
hard_c[gold] = c[gold]

y = task_labels(a=Votes(votes), b=soft_b, c=hard_c)
print(y.columns.tolist())
print(y.iloc[:3])

# %%
# One estimator: label model for ``a``'s votes, shared trunk, three heads.
net = MultitaskClassifier(
    {"a": 2, "b": 2, "c": 2},
    hidden_layer_sizes=(32,),
    max_epochs=5 if FAST else 30,
    lr=0.01,
    verbose=0,
    random_state=0,
)
search = GridSearchCV(
    MultitaskTrainer(net),
    {"estimator__lr": [3e-3, 1e-2], "task_weights": [None, {"c": 3.0}]},
    cv=3,
)
search.fit(X, y)
print("best:", search.best_params_)

# %%
# Per-task accuracy against the true labels of every row.
truth = task_labels(a=a, b=b, c=c)
print(search.best_estimator_.score_tasks(X, truth))
