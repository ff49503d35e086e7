"""Grad mode: whether ops record the graph, per thread (no_grad, enable_grad).

Inside `with mg.no_grad():` ops compute their results and record nothing: no graph, no
saved arrays, for evaluation and for optimizer updates. The switch belongs to the thread
that set it, as in PyTorch, and a decorated generator function holds it across its
yields (the caller's mode is back whenever the generator is paused).
"""

import contextlib
import functools
import inspect
import threading


class _GradMode(threading.local):
    """Whether ops record the graph, per thread (a no_grad block in one thread leaves the
    others recording)."""

    enabled = True  # False inside no_grad(): ops record nothing


grad_mode = _GradMode()


class _SetGradMode(contextlib.ContextDecorator):
    """Context manager and decorator that sets whether ops record the graph."""

    def __init__(self, mode: bool):
        self.mode = mode
        self._previous: list = []

    def _recreate_cm(self):
        # A decorated function gets a fresh switch per call, so calls in several threads
        # never share the saved modes.
        return type(self)(self.mode)

    def __enter__(self):
        self._previous.append(grad_mode.enabled)
        grad_mode.enabled = self.mode
        return self

    def __exit__(self, *exc):
        grad_mode.enabled = self._previous.pop()
        return False

    def __call__(self, func):
        if inspect.isgeneratorfunction(func):
            return _generator_in_mode(func, self.mode)
        return super().__call__(func)


def _generator_in_mode(func, mode):
    """A generator function whose body runs in `mode` each time it resumes, and gives the
    caller's mode back at every yield (a decorator alone would leak it across yields)."""
    @functools.wraps(func)
    def generator(*args, **kwargs):
        inner = func(*args, **kwargs)
        try:
            with _SetGradMode(mode):
                response = inner.send(None)
            while True:
                try:
                    request = yield response
                except GeneratorExit:
                    with _SetGradMode(mode):
                        inner.close()
                    raise
                except BaseException as error:
                    with _SetGradMode(mode):
                        response = inner.throw(error)
                else:
                    with _SetGradMode(mode):
                        response = inner.send(request)
        except StopIteration as stop:
            return stop.value
    return generator


def no_grad():
    """Ops inside record nothing (no graph, no saved arrays): for evaluation and updates.

    Use as `with mg.no_grad(): ...` or as a decorator `@mg.no_grad()`.
    """
    return _SetGradMode(False)


def enable_grad():
    """Turn recording back on, for example inside a function decorated with no_grad."""
    return _SetGradMode(True)


def is_grad_enabled() -> bool:
    return grad_mode.enabled
