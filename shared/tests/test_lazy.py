"""cvcore.lazy: PEP 562 lazy exports import on first access, cache, and reject unknown names."""

import sys

import pytest


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    pkg = tmp_path / "lazypkg_demo"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text(
        "from cvcore.lazy import lazy_exports\n"
        "_EXPORTS = {'Thing': 'lazypkg_demo.things', 'helper': 'things'}\n"
        "__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, submodules=('sub',))\n")
    (pkg / "things.py").write_text("LOADS = []\nLOADS.append(1)\nclass Thing: pass\ndef helper(): return 42\n")
    (pkg / "sub" / "__init__.py").write_text("VALUE = 'sub'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "lazypkg_demo"
    for name in [m for m in sys.modules if m.startswith("lazypkg_demo")]:
        del sys.modules[name]


def test_lazy_exports_import_on_first_access_only(fake_package):
    import importlib

    pkg = importlib.import_module(fake_package)
    assert "lazypkg_demo.things" not in sys.modules
    assert pkg.helper() == 42  # relative module name resolved against the package
    assert "lazypkg_demo.things" in sys.modules
    assert pkg.Thing is sys.modules["lazypkg_demo.things"].Thing
    assert "Thing" in vars(pkg)  # cached: later lookups skip __getattr__
    assert sys.modules["lazypkg_demo.things"].LOADS == [1]
    assert pkg.sub.VALUE == "sub"
    assert {"Thing", "helper", "sub"} <= set(dir(pkg))
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        pkg.missing  # noqa: B018
    from lazypkg_demo import Thing  # the from-import form works too

    assert Thing is pkg.Thing
