"""Where the offline real data (``CVCORE_TEST_DATA``) and the authors' files live."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["official_data_dir", "test_data_path"]


def test_data_path(*parts: str) -> Path | None:
    """``$CVCORE_TEST_DATA/<parts>`` if the variable is set and the path exists, else None."""
    root = os.environ.get("CVCORE_TEST_DATA")
    if not root:
        return None
    p = Path(root).joinpath(*parts)
    return p if p.exists() else None


test_data_path.__test__ = False  # not a test, whatever pytest's name rules say


def official_data_dir(*parts: str, start: str | os.PathLike[str] | None = None) -> Path | None:
    """The folder ``../shared/official-data/<parts>`` beside the repository root, if present.

    Looked up from ``$CVCORE_OFFICIAL_DATA`` first, then upwards from ``start`` (default: cwd)
    for a ``shared/official-data`` folder next to a checkout.
    """
    env = os.environ.get("CVCORE_OFFICIAL_DATA")
    if env:
        p = Path(env).joinpath(*parts)
        return p if p.exists() else None
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        cand = folder.parent / "shared" / "official-data"
        if (folder / "noxfile.py").is_file() and cand.is_dir():
            p = cand.joinpath(*parts)
            return p if p.exists() else None
    return None
