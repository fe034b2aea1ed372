"""Checkpoints: a GPT survives the round trip exactly; bad files fail with a clear message."""

from __future__ import annotations

import dataclasses
import json
import zipfile

import numpy as np
import pytest

from dlbook.gpt import backend
from dlbook.gpt.config import GPTConfig, init_weights
from dlbook.lm.vocab import CharVocab
from dlbook.serving import CHAPTER_GPT_PATH, load_chapter_gpt
from dlbook.serving.checkpoint import HEADER_KEY, load_checkpoint, save_checkpoint

torch = pytest.importorskip("torch")

CONFIG = GPTConfig(vocab_size=5, block_size=8, n_layer=2, n_head=2, n_embd=8)
VOCAB = CharVocab("abcd ")
IDS = np.array([[0, 1, 2, 3, 4, 0, 1], [4, 3, 2, 1, 0, 4, 3]])


def logits(model, ids=IDS) -> np.ndarray:
    if hasattr(model, "parameters"):
        with torch.no_grad():
            return model(torch.as_tensor(ids)).double().cpu().numpy()
    return np.asarray(model(ids), dtype=np.float64)


@pytest.fixture
def saved(tmp_path):
    rng = np.random.default_rng(0)
    w = {k: v + rng.normal(0, 0.3, v.shape) for k, v in init_weights(CONFIG, 1, "float32").items()}
    model = backend("torch").GPT(CONFIG)
    model.set_weights(w)
    path = save_checkpoint(model, tmp_path / "gpt.npz", vocab=VOCAB, metadata={"val_loss": 1.5})
    return model, path


def test_round_trip_gives_identical_logits(saved) -> None:
    model, path = saved
    loaded, vocab, meta = load_checkpoint(path)
    assert vocab == VOCAB and loaded.config == CONFIG
    assert meta["val_loss"] == 1.5 and "dlbook_version" in meta
    np.testing.assert_array_equal(logits(loaded), logits(model))
    assert not loaded.training


@pytest.mark.parametrize("name", ["numpy", "tensorflow"])
def test_other_backends_load_the_same_file(saved, name: str) -> None:
    model, path = saved
    loaded, _, _ = load_checkpoint(path, name)
    assert type(loaded).__module__ == f"dlbook.gpt.{name}_backend"
    np.testing.assert_allclose(logits(loaded), logits(model), rtol=0, atol=1e-5)


def test_the_file_holds_only_arrays_and_json(saved) -> None:
    _, path = saved
    with np.load(path, allow_pickle=False) as npz:  # nothing to unpickle
        header = json.loads(str(npz[HEADER_KEY]))
        assert all(npz[k].dtype == np.float32 for k in npz.files if k != HEADER_KEY)
    assert header["config"]["n_embd"] == 8 and header["alphabet"] == "abcd "


def test_missing_file(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="No checkpoint at"):
        load_checkpoint(tmp_path / "nope.npz")


def test_corrupted_file(saved) -> None:
    _, path = saved
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # truncated, as by an interrupted download
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load_checkpoint(path)
    path.write_bytes(b"certainly not a zip file")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load_checkpoint(path)


def rewrite(path, change) -> None:
    """Rewrite the checkpoint at ``path`` after ``change(arrays, header)``."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    header = json.loads(str(arrays.pop(HEADER_KEY)))
    change(arrays, header)
    np.savez(path, **arrays, **{HEADER_KEY: np.array(json.dumps(header))})


def test_config_mismatch(saved) -> None:
    _, path = saved
    rewrite(path, lambda a, h: h["config"].update(n_embd=16, n_head=2))
    with pytest.raises(ValueError, match=r"expected 'tok_emb' of shape \(5, 16\)"):
        load_checkpoint(path)


def test_missing_weight_and_wrong_format(saved) -> None:
    _, path = saved
    rewrite(path, lambda a, h: a.pop("head.W"))
    with pytest.raises(ValueError, match="'head.W'"):
        load_checkpoint(path)
    rewrite(path, lambda a, h: h.update(format_version=99))
    with pytest.raises(ValueError, match="version 99"):
        load_checkpoint(path)


def test_a_plain_npz_is_not_a_checkpoint(tmp_path) -> None:
    path = tmp_path / "plain.npz"
    np.savez(path, x=np.zeros(3))
    with pytest.raises(ValueError, match="not a checkpoint"):
        load_checkpoint(path)
    assert zipfile.is_zipfile(path)


def test_save_refuses_bad_arguments(saved, tmp_path) -> None:
    model, _ = saved
    with pytest.raises(ValueError, match="vocabulary has 3 characters"):
        save_checkpoint(model, tmp_path / "x.npz", vocab=CharVocab("abc"))
    with pytest.raises(ValueError, match="is a .npz file"):
        save_checkpoint(model, tmp_path / "x.pt")
    with pytest.raises(TypeError, match="JSON-serialisable"):
        save_checkpoint(model, tmp_path / "x.npz", metadata={"f": object()})
    with pytest.raises(TypeError, match="saves a dlbook GPT"):
        save_checkpoint(torch.nn.Linear(2, 2), tmp_path / "x.npz")


def test_the_chapter_gpt() -> None:
    from dlbook.data.corpus import load_corpus
    from dlbook.gpt.train import evaluate

    assert CHAPTER_GPT_PATH.stat().st_size < 600_000
    model, vocab = load_chapter_gpt()
    corpus = load_corpus(n_train=10, n_val=4000, n_test=10)
    assert vocab == CharVocab(corpus.alphabet)
    assert sum(p.numel() for p in model.parameters()) == 107_136
    assert evaluate(model, vocab.encode(corpus.val)) < 1.5  # 1.4388 on the full val text
    _, _, meta = load_checkpoint(CHAPTER_GPT_PATH)
    assert abs(meta["val_loss"] - 1.4388) < 1e-3 and meta["train_config"]["steps"] == 1500


def test_the_chapter_gpt_on_numpy_gives_the_same_logits() -> None:
    """Acceptance: the numpy backend loads the same file, logits within ~1e-5 in float32."""
    model, vocab = load_chapter_gpt()
    model_np, _ = load_chapter_gpt("numpy")
    ids = vocab.encode("wood bavo gide. fire kapu tiro. sky ")[None]
    np.testing.assert_allclose(logits(model_np, ids), logits(model, ids), rtol=0, atol=1e-5)


def test_the_shipped_chapter_lstm_loads_and_scores_as_recorded() -> None:
    """Chapter 6 compares the GPT with this LSTM without training it: it must be chapter 5's."""
    from dlbook.data.corpus import load_corpus
    from dlbook.lm import char_model
    from dlbook.serving import CHAPTER_LSTM_PATH, load_chapter_lstm

    assert CHAPTER_LSTM_PATH.stat().st_size < 400_000
    model, vocab = load_chapter_lstm()
    _, config, meta = char_model.load_char_lm(CHAPTER_LSTM_PATH)
    assert config == dataclasses.replace(char_model.CHAPTER_CONFIGS["lstm"], progress=False)
    corpus = load_corpus()
    assert vocab == CharVocab(corpus.alphabet)
    val = char_model.evaluate(model, vocab.encode(corpus.val))
    assert abs(val - meta["val_loss"]) < 1e-5 and abs(val - 1.4433) < 1e-3


def test_char_lm_checkpoint_round_trip(tmp_path) -> None:  # noqa: ANN001
    from dlbook.lm import char_model

    config = char_model.CharLMConfig(cell="gru", hidden_size=8, embed_dim=4, steps=1)
    model = char_model.build_model(config, vocab_size=5)
    path = char_model.save_char_lm(model, config, tmp_path / "m.npz", note="x")
    loaded, config2, meta = char_model.load_char_lm(path)
    assert config2 == config and meta == {"note": "x"}
    ids = torch.as_tensor(IDS)
    with torch.no_grad():
        assert torch.equal(loaded(ids)[0], model.eval()(ids)[0])
    with pytest.raises(FileNotFoundError, match="No character-LM checkpoint"):
        char_model.load_char_lm(tmp_path / "missing.npz")
