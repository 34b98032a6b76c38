"""
Tuning with a small gold dev set
================================

Choose label-model settings with :class:`~sklearn.model_selection.GridSearchCV`,
fitting on unlabeled training votes and scoring on a few gold-labeled dev rows, then
tune the end model's size and learning rate by cross-validation on soft labels.
"""

# %%
import os

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import GridSearchCV, PredefinedSplit
from sklearn.pipeline import make_pipeline

from sklearn_metal import EndModel, LabelModel, LFApplier
from sklearn_metal.datasets import load_youtube_spam, youtube_spam_lfs

FAST = os.environ.get("SKLEARN_METAL_EXAMPLES_FAST") == "1"
data = load_youtube_spam()
L = LFApplier(youtube_spam_lfs()).fit_transform(data.frame)
train, test = data.split == "train", data.split == "test"

# %%
# Hold out 100 training rows as the gold dev set. The rest stay unlabeled: their
# ``y`` is -1 (scikit-learn's semi-supervised convention), so ``fit`` never sees
# their gold labels. ``PredefinedSplit`` fits on the unlabeled rows (fold -1)
# and scores on the dev rows (fold 0).
rng = np.random.RandomState(0)
idx = np.flatnonzero(train)
dev = rng.choice(idx, size=100, replace=False)
y = np.full(len(L), -1)
y[dev] = data.target[dev]
fold = np.full(len(L), -1)
fold[dev] = 0
rows = np.concatenate([np.setdiff1d(idx, dev), dev])

search = GridSearchCV(
    LabelModel(),
    {"method": ["auto", "em"], "prior_strength": [0.1, 1.0, 10.0]},
    cv=PredefinedSplit(fold[rows]),
)
search.fit(L[rows], y[rows])
print("best label-model settings:", search.best_params_)
print("test accuracy:", search.best_estimator_.score(L[test], data.target[test]))

# %%
# End model: 3-fold cross-validation over its width and learning rate, scored
# against the argmax of the soft labels.
soft = search.best_estimator_.predict_proba(L[train])
covered = (L[train] != -1).any(axis=1)
pipe = make_pipeline(
    TfidfVectorizer(min_df=2),
    EndModel(max_epochs=3 if FAST else 20, verbose=0, random_state=0),
)
grid = {"endmodel__hidden_layer_sizes": [(32,), (128,)], "endmodel__lr": [1e-3, 1e-2]}
tuned = GridSearchCV(pipe, grid, cv=3).fit(data.text[train][covered], soft[covered])
print("best end-model settings:", tuned.best_params_)
print("test accuracy:", tuned.score(data.text[test], data.target[test]))
