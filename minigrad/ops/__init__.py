"""The ops: each a Function subclass with forward and backward side by side.

Every module in this folder is imported here, so an op is found by being defined:
`all_ops()` lists them, `mg.<name>` calls them (functional.py), and the op-wide tests
gradcheck each one and compare it with PyTorch (tests/op_cases.py).
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")


def all_ops() -> list:
    """Every op defined in minigrad.ops (a Function subclass that sets its own `name`;
    a shared base class without one is not an op), in a stable order (by name)."""
    from minigrad.function import Function

    found, todo = set(), list(Function.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith(__name__ + ".") and "name" in cls.__dict__:
            found.add(cls)
        todo.extend(cls.__subclasses__())
    return sorted(found, key=lambda cls: cls.name)
