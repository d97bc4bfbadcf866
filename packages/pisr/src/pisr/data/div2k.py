"""DIV2K in the EDSR packaging the official code reads (spec section 8)."""

from __future__ import annotations

import os
from pathlib import Path

from cvcore.errors import DataError
from pisr.data.pairs import ImageFolderPairs, PairedPatches

__all__ = ["DIV2K_TRAIN", "DIV2K_VAL", "div2k_dirs", "div2k_train", "div2k_val", "describe_layout"]

DIV2K_TRAIN = [f"{i:04d}" for i in range(1, 801)]
DIV2K_VAL = [f"{i:04d}" for i in range(801, 811)]  # validation during training (spec section 3 #16)


def describe_layout() -> str:
    """The expected on-disk layout::

        <data-root>/DIV2K/DIV2K_train_HR/0001.png ... 0900.png
        <data-root>/DIV2K/DIV2K_train_LR_bicubic/X2/0001x2.png ...  (X3/...x3.png, X4/...x4.png)

    (``<data-root>`` may also be the ``DIV2K`` folder itself.) Without the LR folder, LR images are
    made from HR with the MATLAB-compatible resize.
    """
    return describe_layout.__doc__ or ""


def div2k_dirs(root: str | os.PathLike[str], scale: int) -> tuple[Path, Path | None]:
    """``(hr_dir, lr_dir or None)`` under ``root`` (the data root or the DIV2K folder)."""
    root = Path(root)
    base = root / "DIV2K" if (root / "DIV2K").is_dir() else root
    hr = base / "DIV2K_train_HR"
    if not hr.is_dir():
        raise DataError(
            f"DIV2K not found under {root}: expected {root}/DIV2K/DIV2K_train_HR/0001.png ... and "
            f"DIV2K_train_LR_bicubic/X{scale}/0001x{scale}.png (or pass --hr-dir)"
        )
    lr = base / "DIV2K_train_LR_bicubic" / f"X{scale}"
    return hr, (lr if lr.is_dir() else None)


def div2k_train(root: str | os.PathLike[str], scale: int, patch_size: int, repeat: int = 1,
                augment: bool = True) -> PairedPatches:
    """Training patches from DIV2K 0001-0800 (whatever of them exists)."""
    hr, lr = div2k_dirs(root, scale)
    return PairedPatches(hr, lr, scale=scale, patch_size=patch_size, repeat=repeat, augment=augment,
                         names=DIV2K_TRAIN)


def div2k_val(root: str | os.PathLike[str], scale: int) -> ImageFolderPairs:
    """Whole validation images DIV2K 0801-0810 (PSNR crop ``s + 6``)."""
    hr, lr = div2k_dirs(root, scale)
    return ImageFolderPairs(hr, lr, scale=scale, names=DIV2K_VAL)
