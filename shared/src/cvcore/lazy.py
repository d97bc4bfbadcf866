"""Lazy public API for package ``__init__`` files (PEP 562), so ``import <package>`` stays cheap.

Usage in ``mypkg/__init__.py``::

    from cvcore.lazy import lazy_exports

    _EXPORTS = {"Model": "mypkg.model", "train": "mypkg.engine"}
    __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, submodules=("models",))
    __all__ = sorted([*_EXPORTS, "models", "__version__"])

``mypkg.Model`` imports ``mypkg.model`` on first access and caches the value in the package
namespace; ``mypkg.models`` imports the submodule. Unknown names raise ``AttributeError``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str], submodules: Iterable[str] = ()
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module ``__getattr__`` and ``__dir__`` for ``package``.

    ``exports`` maps a public name to the absolute module that defines it (a name relative to
    ``package`` such as ``"model"`` is accepted too); ``submodules`` are names of subpackages or
    modules reachable as attributes.
    """
    table = {name: (mod if mod.startswith(package + ".") or mod == package else f"{package}.{mod}")
             for name, mod in exports.items()}
    subs = frozenset(submodules)

    def __getattr__(name: str) -> Any:
        if name in table:
            value = getattr(importlib.import_module(table[name]), name)
            setattr(sys.modules[package], name, value)
            return value
        if name in subs:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(table) | subs)

    return __getattr__, __dir__
