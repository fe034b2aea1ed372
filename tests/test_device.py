"""dlbook.device: CUDA when present, and a context that pins a block to the CPU."""

from __future__ import annotations

import os

import pytest

from dlbook.device import device_name, on_cpu

torch = pytest.importorskip("torch")


def test_on_cpu_pins_device_and_threads_then_restores_them(monkeypatch):
    monkeypatch.delenv("DLBOOK_DEVICE", raising=False)
    threads = torch.get_num_threads()
    with on_cpu(threads=1):
        assert device_name("torch") == "cpu"
        assert torch.get_num_threads() == 1
    assert "DLBOOK_DEVICE" not in os.environ
    assert torch.get_num_threads() == threads


def test_on_cpu_restores_even_when_the_block_raises(monkeypatch):
    monkeypatch.setenv("DLBOOK_DEVICE", "cuda")
    threads = torch.get_num_threads()
    with pytest.raises(RuntimeError), on_cpu(threads=1):
        raise RuntimeError("boom")
    assert os.environ["DLBOOK_DEVICE"] == "cuda"
    assert torch.get_num_threads() == threads
