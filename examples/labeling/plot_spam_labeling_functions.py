"""
Writing labeling functions for spam comments
============================================

Write a few labeling functions, apply them with :class:`~sklearn_metal.LFApplier`,
inspect them with :func:`~sklearn_metal.lf_summary`, and chain labeling functions,
label model and end model as scikit-learn steps.
"""

# %%
# The bundled UCI YouTube Spam Collection: comments, gold labels (used here only
# to score), and the Snorkel tutorial's split by video.
import os
import re

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline, make_pipeline

from sklearn_metal import EndModel, LabelModel, LFApplier, labeling_function, lf_summary
from sklearn_metal.analysis import plot_calibration, plot_lf_summary
from sklearn_metal.datasets import load_youtube_spam

FAST = os.environ.get("SKLEARN_METAL_EXAMPLES_FAST") == "1"
data = load_youtube_spam()
train, test = data.split == "train", data.split == "test"
frame = data.frame

# %%
# Labeling functions see one row; DataFrame rows arrive as namedtuples.
SPAM, HAM, ABSTAIN = 1, 0, -1


@labeling_function(resources={"words": ("subscribe", "check out", "my channel")})
def spammy_words(x, words):
    text = x.text.lower()
    return SPAM if any(w in text for w in words) else ABSTAIN


@labeling_function()
def has_link(x):
    return SPAM if re.search(r"https?://|www\.", x.text) else ABSTAIN


@labeling_function()
def talks_about_the_song(x):
    return (
        HAM if re.search(r"\b(song|voice|music|dance)\b", x.text.lower()) else ABSTAIN
    )


@labeling_function()
def short(x):
    return HAM if len(x.text.split()) <= 5 else ABSTAIN


lfs = [spammy_words, has_link, talks_about_the_song, short]

# %%
# Apply them and look at coverage, overlaps, conflicts and (with gold) accuracy.
applier = LFApplier(lfs).set_output(transform="pandas")
L = applier.fit_transform(frame)
print(lf_summary(L[train], data.target[train]).round(3))
plot_lf_summary(L[train], data.target[train])

# %%
# Labeling functions and label model in one pipeline: votes in, soft labels out.
weak_labeler = Pipeline([("lfs", LFApplier(lfs)), ("label_model", LabelModel())])
weak_labeler.fit(frame[train])
soft = weak_labeler.predict_proba(frame[train])
print("label model test accuracy:", weak_labeler.score(frame[test], data.target[test]))

# %%
# Are the soft labels calibrated? Probabilities against observed spam frequency.
plot_calibration(data.target[test], weak_labeler.predict_proba(frame[test]), n_bins=5)

# %%
# An end model on the comment text, trained on the soft labels of the rows that
# some labeling function voted on; it also classifies comments no function covers.
covered = (L[train].to_numpy() != -1).any(axis=1)
classifier = make_pipeline(
    TfidfVectorizer(ngram_range=(1, 2), min_df=2),
    EndModel(dropout=0.2, max_epochs=5 if FAST else 30, verbose=0, random_state=0),
)
classifier.fit(data.text[train][covered], soft[covered])
print("end model test accuracy:", classifier.score(data.text[test], data.target[test]))
