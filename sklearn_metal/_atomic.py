"""Estimator methods that leave the estimator as it was when they raise."""

import functools


def restore_on_error(method):
    """Make a call of ``method`` that raises leave its instance as it was.

    The instance's attributes are copied (a shallow copy) before the call and
    put back if it raises, ``KeyboardInterrupt`` included: a fitted estimator
    keeps its earlier fit, an unfitted one stays unfitted. The method must
    replace the attributes it changes, not change their values in place.

    Examples
    --------
    >>> from sklearn_metal._atomic import restore_on_error
    >>> class Counter:
    ...     @restore_on_error
    ...     def add(self, value):
    ...         self.total_ = getattr(self, "total_", 0) + 1
    ...         self.last_ = 1 / value
    ...         return self
    >>> counter = Counter().add(2)
    >>> try:
    ...     counter.add(0)
    ... except ZeroDivisionError:
    ...     pass
    >>> counter.total_, counter.last_
    (1, 0.5)
    """

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        state = dict(self.__dict__)
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    return call
