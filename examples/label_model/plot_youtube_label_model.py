"""
Label model on YouTube spam votes
=================================

Fit a :class:`~sklearn_metal.LabelModel` on the votes of ten labeling functions,
inspect what it learned, and compare it with majority vote on gold test labels.
"""

# %%
# Load the bundled votes: -1 abstains, 0 = ham, 1 = spam.
from sklearn.metrics import accuracy_score

from sklearn_metal import LabelModel, MajorityLabelVoter, lf_summary
from sklearn_metal.datasets import load_youtube_votes

data = load_youtube_votes(as_frame=True)
print(data.L_train.shape)

# %%
# Fit without gold labels and look at the learned source parameters.
model = LabelModel(cardinality=2).fit(data.L_train)
print(lf_summary(data.L_train, label_model=model).round(3))

# %%
# Score both on the test split.
mv = MajorityLabelVoter().fit(data.L_train)
print("label model  ", accuracy_score(data.y_test, model.predict(data.L_test)))
print("majority vote", accuracy_score(data.y_test, mv.predict(data.L_test)))

# %%
# A few gold labels (``-1`` marks unlabeled rows) refine the fit.
y_semi = data.y_train.copy()
y_semi[~data.train_is_gold] = -1
semi = LabelModel(cardinality=2).fit(data.L_train, y_semi)
print("with 100 gold", accuracy_score(data.y_test, semi.predict(data.L_test)))
