"""Labeling functions for the YouTube spam comments (0 = ham, 1 = spam)."""

import re

from ..labeling import LabelingFunction

HAM, SPAM, ABSTAIN = 0, 1, -1


def _text(x):
    """The comment of a row: ``x.text``, or ``x`` itself when it is a string."""
    if isinstance(x, str):
        return x.lower()
    if not hasattr(x, "text"):
        # str(x) of a row without a text field would read every other field
        raise ValueError(
            f"expected a string or a row with a 'text' field, got {type(x).__name__}"
        )
    return x.text.lower()


# The votes are module-level functions with their settings in ``resources``
# (not closures), so that the labeling functions pickle.
def _keyword_vote(x, words, label):
    t = _text(x)
    return label if any(w in t for w in words) else ABSTAIN


def _keywords(name, words, label):
    return LabelingFunction(
        name, _keyword_vote, resources={"words": tuple(words), "label": label}
    )


def _regex_vote(x, pattern, label):
    return label if pattern.search(_text(x)) else ABSTAIN


def _regex(name, pattern, label):
    compiled = re.compile(pattern, flags=re.IGNORECASE)
    return LabelingFunction(
        name, _regex_vote, resources={"pattern": compiled, "label": label}
    )


def _short_comment(x, max_words):
    return HAM if len(_text(x).split()) <= max_words else ABSTAIN


def _many_exclamations(x, threshold):
    return SPAM if _text(x).count("!") >= threshold else ABSTAIN


def youtube_spam_lfs():
    """Ten labeling functions for the YouTube spam comments.

    Keyword, regular-expression and length heuristics in the spirit of the
    Snorkel spam tutorial, written for this package. Each reads ``x.text``
    (or the row itself when it is a string) and votes ham (0), spam (1) or
    abstains (-1).

    Returns
    -------
    lfs : list of LabelingFunction

    Examples
    --------
    >>> from sklearn_metal.datasets import youtube_spam_lfs
    >>> lfs = youtube_spam_lfs()
    >>> [lf.name for lf in lfs][:3]
    ['keyword_check_out', 'keyword_subscribe', 'has_link']
    >>> lfs[1]("Please subscribe to my channel")
    1
    """
    return [
        _keywords("keyword_check_out", ["check out", "check my", "checkout"], SPAM),
        _keywords("keyword_subscribe", ["subscribe", "subscribers"], SPAM),
        _regex("has_link", r"https?://|www\.|\.com\b", SPAM),
        _keywords("keyword_my_channel", ["my channel", "my video", "my page"], SPAM),
        _keywords("keyword_please", ["please", "plz", "pls"], SPAM),
        _keywords("keyword_money", ["money", "earn", "free", "gift card"], SPAM),
        _keywords("keyword_song", ["song", "love this", "voice", "music"], HAM),
        _regex("mentions_views", r"\b(billion|views|million)\b", HAM),
        LabelingFunction("short_comment", _short_comment, resources={"max_words": 5}),
        LabelingFunction(
            "many_exclamations", _many_exclamations, resources={"threshold": 3}
        ),
    ]
