"""sklearn_metal: weak supervision as ordinary scikit-learn estimators."""

from .analysis import lf_summary
from .baselines import MajorityClassVoter, MajorityLabelVoter
from .end_model import EndModel
from .label_model import LabelModel
from .labeling import LabelingFunction, LFApplier, labeling_function
from .multitask import MultitaskClassifier, MultitaskTrainer, Votes, task_labels
from .multitask_label_model import MultitaskLabelModel, TaskGraph

__version__ = "0.1.0"

__all__ = [
    "EndModel",
    "LabelModel",
    "LabelingFunction",
    "LFApplier",
    "labeling_function",
    "MultitaskClassifier",
    "MultitaskLabelModel",
    "MultitaskTrainer",
    "TaskGraph",
    "Votes",
    "task_labels",
    "MajorityClassVoter",
    "MajorityLabelVoter",
    "lf_summary",
    "__version__",
]
