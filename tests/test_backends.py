import pytest

from dlbook.backends import BACKENDS, check_backend, load_backend
from dlbook.device import device_name


@pytest.mark.parametrize(
    "alias,name", [("np", "numpy"), ("PyTorch", "torch"), ("tf", "tensorflow")]
)
def test_aliases(alias, name) -> None:
    assert check_backend(alias) == name


def test_unknown_backend_lists_the_choices() -> None:
    with pytest.raises(ValueError, match="numpy, torch, tensorflow"):
        check_backend("jax")


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_backend_exports_the_shared_api(backend) -> None:
    shared = [
        "sigmoid",
        "tanh",
        "relu",
        "gelu",
        "softmax",
        "log_softmax",
        "mse_loss",
        "cross_entropy",
        "linear",
        "Linear",
        "MLP",
        "loss_and_grads",
        "predict",
        "evaluate_loss",
        "make_optimizer",
        "train_step",
    ]
    module = load_backend("nn", backend)
    missing = [name for name in shared if not hasattr(module, name)]
    assert not missing, f"dlbook.nn.{backend}_backend lacks {missing}"


def test_device_is_cpu_without_cuda(monkeypatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert device_name("torch") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert device_name("torch") == "cuda"
    monkeypatch.setenv("DLBOOK_DEVICE", "cpu")
    assert device_name("torch") == "cpu"


def test_cuda_is_used_when_the_gpu_runner_expects_it() -> None:
    """`make test-gpu` sets DLBOOK_EXPECT_CUDA=1: then the book must really pick CUDA."""
    import os

    import pytest as _pytest

    if os.environ.get("DLBOOK_EXPECT_CUDA") != "1":
        _pytest.skip("only on the GPU runner (make test-gpu)")
    from dlbook.device import get_device

    assert get_device().type == "cuda"


@pytest.mark.parametrize("concept", ["serving", "pruning", "quantization", "privacy"])
def test_a_missing_backend_is_named_with_those_that_exist(concept: str) -> None:
    """Concepts without a TensorFlow module say so, rather than failing on an import."""
    with pytest.raises(ValueError, match=f"dlbook.{concept} has no TensorFlow backend") as err:
        load_backend(concept, "tf")
    assert "choose one of 'numpy', 'torch'" in str(err.value)
