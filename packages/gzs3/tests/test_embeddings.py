import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from cvcore.errors import DataError
from cvcore.testing import official_data_dir
from gzs3.embeddings import embed_names, load_table, normalize_table, read_word_vectors


def test_formats_roundtrip(tmp_path):
    a = np.random.default_rng(0).normal(size=(5, 7))
    np.save(tmp_path / "t.npy", a)
    with open(tmp_path / "t.pkl", "wb") as f:
        pickle.dump(a.astype(np.float32), f, protocol=2)
    torch.save(torch.from_numpy(a).float(), tmp_path / "t_torch.pkl")
    torch.save(torch.from_numpy(a).float(), tmp_path / "t.pt")
    for name in ("t.npy", "t.pkl", "t_torch.pkl", "t.pt"):
        t = load_table(tmp_path / name, normalize=None)
        assert t.dtype == torch.float32 and t.shape == (5, 7)
        np.testing.assert_allclose(t.numpy(), a, rtol=1e-6)


def test_max_norm_scaling():
    t = torch.randn(6, 4, dtype=torch.float64)
    n = normalize_table(t, "max")
    norms = n.norm(dim=1)
    assert torch.isclose(norms.max(), torch.tensor(1.0, dtype=torch.float64))
    ratio = norms / t.norm(dim=1)
    assert torch.allclose(ratio, ratio[0].expand_as(ratio))
    assert torch.allclose(normalize_table(t, "l2").norm(dim=1), torch.ones(6, dtype=torch.float64))
    z = torch.zeros(3, 4)
    assert torch.equal(normalize_table(z, "max"), z)


def test_bad_files(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_table(tmp_path / "missing.pkl")
    (tmp_path / "junk.pkl").write_bytes(b"\x80\x04garbage")
    with pytest.raises(DataError):
        load_table(tmp_path / "junk.pkl")
    np.save(tmp_path / "vec.npy", np.ones(5))
    with pytest.raises(DataError, match="num_classes"):
        load_table(tmp_path / "vec.npy")
    with open(tmp_path / "evil.pkl", "wb") as f:
        pickle.dump({"a": __import__("collections").OrderedDict()}, f)
    with pytest.raises(DataError):
        load_table(tmp_path / "evil.pkl")
    nan = np.ones((2, 3))
    nan[0, 0] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    with pytest.raises(DataError, match="NaN"):
        load_table(tmp_path / "nan.npy")


def test_embed_names_mean_and_errors():
    wv = {"potted": np.array([1.0, 0.0]), "plant": np.array([0.0, 2.0]), "cat": np.array([3.0, 3.0]),
          "tv_monitor": np.array([5.0, 5.0])}
    t = embed_names(["cat", "potted plant", "potted_plant", "Potted-Plant"], wv)
    np.testing.assert_allclose(t.numpy(), [[3, 3], [0.5, 1.0], [0.5, 1.0], [0.5, 1.0]])
    with pytest.raises(KeyError, match="tv, monitor"):  # default: always the mean of the words (spec §8)
        embed_names(["tv monitor"], wv)
    np.testing.assert_allclose(embed_names(["tv monitor", "potted plant"], wv, phrases=True).numpy(), [[5, 5], [0.5, 1]])
    s = embed_names(["potted plant"], wv, combine="sum")
    np.testing.assert_allclose(s.numpy(), [[1, 2]])
    with pytest.raises(KeyError, match="zebra.*unicorn"):
        embed_names(["zebra", "potted unicorn"], wv)


def test_read_word2vec_text(tmp_path):
    p = tmp_path / "wv.txt"
    p.write_text("2 3\ncat 1 2 3\ndog 4 5 6\n")
    wv = read_word_vectors(p)
    np.testing.assert_allclose(wv["dog"], [4, 5, 6])
    p.write_text("cat 1 2 3\ndog 4 5\n")
    with pytest.raises(DataError, match="size"):
        read_word_vectors(p)


EXPECTED = {  # file -> (shape, max row norm before scaling)
    "pascal/ZS3/norm_embed_arr_300_airplane.pkl": ((21, 300), 1.0),
    "pascal/ZS3/norm_embed_arr_300.pkl": ((21, 300), 1.0),
    "context/ZS3/pascalcontext_class_w2c.npy": ((60, 300), 3.571),
    "pascal/SPNet/word2vec.pkl": ((21, 300), 1.0),
    "pascal/SPNet/fasttext.pkl": ((21, 300), 1.0),
    "context/CaGNet/word2vec.pkl": ((34, 300), None),
    "context/CaGNet/fasttext.pkl": ((34, 300), None),
}


def test_every_official_table():
    root = official_data_dir("gzs3")
    if root is None:  # official_data_dir needs a noxfile.py at the repo root; look beside the checkout too
        here = Path(__file__).resolve()
        root = next((q / "shared" / "official-data" / "gzs3" for q in here.parents
                     if (q / "shared" / "official-data" / "gzs3").is_dir()), None)
    if root is None:
        pytest.skip("official JoEm embedding files not available")
    files = sorted(p for p in root.rglob("*") if p.is_file())
    assert files
    for f in files:
        rel = f.relative_to(root).as_posix()
        raw = load_table(f, normalize=None)
        scaled = load_table(f)
        assert raw.ndim == 2 and raw.shape[1] == 300 and torch.isfinite(raw).all()
        assert scaled.norm(dim=1).max().item() == pytest.approx(1.0, abs=1e-5)
        if rel in EXPECTED:
            shape, mx = EXPECTED[rel]
            assert tuple(raw.shape) == shape
            if mx is not None:
                assert raw.norm(dim=1).max().item() == pytest.approx(mx, abs=1e-3)
    voc = load_table(root / "pascal/ZS3/norm_embed_arr_300_airplane.pkl")
    ctx = load_table(root / "context/ZS3/pascalcontext_class_w2c.npy")
    assert voc.norm(dim=1).min().item() == pytest.approx(0.683, abs=1e-3)
    raw_ctx = load_table(root / "context/ZS3/pascalcontext_class_w2c.npy", normalize=None)
    scale = (raw_ctx[0] / voc[0]).median()
    same = [i for i in range(21) if torch.allclose(raw_ctx[i], scale * voc[i], rtol=1e-4, atol=1e-5)]
    assert set(range(21)) - set(same) == {16, 20}  # spec §3.7: only pottedplant and tvmonitor differ
    assert ctx.norm(dim=1).max().item() == pytest.approx(1.0, abs=1e-6)
    old = load_table(root / "pascal/ZS3/norm_embed_arr_300.pkl")
    diff = [i for i in range(21) if not torch.allclose(voc[i], old[i], atol=1e-6)]
    assert diff == [1]  # only the airplane/aeroplane row


def write_word2vec(tmp_path, words, vecs, newline_after_vector=True):
    """The word2vec C tool's formats, written here byte by byte: binary and text."""
    b = tmp_path / "vectors.bin"
    with b.open("wb") as f:
        f.write(f"{len(words)} {vecs.shape[1]}\n".encode())
        for w, v in zip(words, vecs):
            f.write(w.encode("utf-8") + b" " + v.astype("<f4").tobytes() + (b"\n" if newline_after_vector else b""))
    t = tmp_path / "vectors.txt"
    t.write_text(f"{len(words)} {vecs.shape[1]}\n" + "".join(
        w + " " + " ".join(f"{x:.9g}" for x in v) + "\n" for w, v in zip(words, vecs)), encoding="utf-8")
    return b, t


@pytest.mark.parametrize("newline", [True, False])
def test_word2vec_binary_equals_text_reader(tmp_path, newline):
    rng = np.random.default_rng(0)
    words = ["</s>", "cat", "potted", "plant", "potted_plant", "Caf\u00e9", "tv", "monitor", "dining", "table"]
    vecs = rng.normal(size=(len(words), 300)).astype(np.float32)
    vecs[1, :4] = [0.0, -0.0, 1e-38, 10.0]  # bytes that look like spaces/newlines in the float payload
    vecs[2, 0] = np.frombuffer(b" \n \n", "<f4")[0]
    b, t = write_word2vec(tmp_path, words, vecs, newline)
    from_bin, from_txt = read_word_vectors(b), read_word_vectors(t)
    assert list(from_bin) == words and from_txt.keys() == from_bin.keys()
    for i, w in enumerate(words):
        assert from_bin[w].dtype == np.float32 and np.array_equal(from_bin[w], vecs[i])
        np.testing.assert_array_equal(from_txt[w], from_bin[w])  # %.9g round-trips float32
    renamed = tmp_path / "w2v.model"  # no .bin suffix: detected from the bytes
    renamed.write_bytes(b.read_bytes())
    assert np.array_equal(read_word_vectors(renamed)["table"], vecs[-1])
    only = read_word_vectors(b, words={"cat", "table", "zebra"})
    assert set(only) == {"cat", "table"}
    names = ["cat", "potted plant", "dining table", "Potted Plant"]
    tab = embed_names(names, from_bin)
    ref = np.stack([vecs[1], (vecs[2] + vecs[3]) / 2, (vecs[8] + vecs[9]) / 2, (vecs[2] + vecs[3]) / 2])
    np.testing.assert_allclose(tab.numpy(), ref, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(embed_names(["potted plant"], from_bin, phrases=True).numpy()[0], vecs[4])


def test_word2vec_binary_errors(tmp_path):
    rng = np.random.default_rng(1)
    b, _ = write_word2vec(tmp_path, ["a", "b", "c"], rng.normal(size=(3, 8)).astype(np.float32))
    raw = b.read_bytes()
    (tmp_path / "trunc.bin").write_bytes(raw[:-20])
    with pytest.raises(DataError, match="truncated after 2 of 3"):
        read_word_vectors(tmp_path / "trunc.bin")
    (tmp_path / "nohead.bin").write_bytes(raw[raw.index(b"\n") + 1:])
    with pytest.raises(DataError, match="vocabulary size"):
        read_word_vectors(tmp_path / "nohead.bin")


def test_embed_classes_cli_reads_binary(tmp_path):
    from gzs3.cli import main

    rng = np.random.default_rng(2)
    vecs = rng.normal(size=(4, 16)).astype(np.float32)
    b, t = write_word2vec(tmp_path, ["background", "potted", "plant", "cow"], vecs)
    (tmp_path / "names.txt").write_text("background\npotted plant\ncow\n")
    for src, out in ((b, "bin.npy"), (t, "txt.npy")):
        assert main(["embed-classes", "--word-vectors", str(src), "--names", str(tmp_path / "names.txt"),
                     "--out", str(tmp_path / out)]) == 0
    got = np.load(tmp_path / "bin.npy")
    ref = np.stack([vecs[0], (vecs[1] + vecs[2]) / 2, vecs[3]])
    ref /= np.linalg.norm(ref, axis=1).max()  # E1 max-norm
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.load(tmp_path / "txt.npy"), got, rtol=1e-6, atol=1e-7)
