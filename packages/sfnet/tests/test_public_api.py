import importlib
import pkgutil

import sfnet


def test_public_names_resolve_even_after_importing_every_module():
    for m in pkgutil.walk_packages(sfnet.__path__, "sfnet."):
        if m.name not in ("sfnet.__main__",):
            importlib.import_module(m.name)  # submodule imports must not shadow the public functions
    for name in sfnet.__all__:
        obj = getattr(sfnet, name)
        assert obj is not None
    for fn in ("correlation", "combine_correlations", "kernel_soft_argmax", "soft_argmax", "hard_argmax", "warp",
               "grid_to_flow", "flow_to_grid", "transfer_keypoints", "evaluate", "load_official_checkpoint"):
        assert callable(getattr(sfnet, fn)) and not isinstance(getattr(sfnet, fn), type(sfnet)), fn
    assert callable(sfnet.metrics.pck) and callable(sfnet.data.random_affine) and sfnet.losses.SFNetLoss
