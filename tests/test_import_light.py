"""`import dlbook` must not load PyTorch or TensorFlow (non-negotiable 6)."""

import subprocess
import sys

import pytest

LIGHT_MODULES = [
    "dlbook.tokenizer",
    "dlbook.tokenizer.bpe",
    "dlbook.alignment",
    "dlbook.alignment.numpy_backend",
    "dlbook.llm",
    "dlbook.llm.corpus",
    "dlbook.llm.tasks",
    "dlbook.llm.checkpoints",
    "dlbook.checks.llm",
    "dlbook.cnn",
    "dlbook.cnn.numpy_backend",
    "dlbook.cnn.training",
    "dlbook.data.images",
    "dlbook.checks.cnn",
    "dlbook.normalization.numpy_backend",
    "dlbook.metrics",
    "dlbook.metrics.classification",
    "dlbook.metrics.calibration",
    "dlbook.metrics.splits",
    "dlbook.text",
    "dlbook.text.tfidf",
    "dlbook.text.documents",
    "dlbook.pipelines",
    "dlbook.pipelines.numpy_backend",
    "dlbook.checks.pipelines",
    "dlbook",
    "dlbook.nn",
    "dlbook.nn.numpy_backend",
    "dlbook.data",
    "dlbook.optim",
    "dlbook.optim.numpy_backend",
    "dlbook.plotting",
    "dlbook.lm",
    "dlbook.data.corpus",
    "dlbook.rnn",
    "dlbook.rnn.numpy_backend",
    "dlbook.regularization",
    "dlbook.normalization",
    "dlbook.landscapes",
    "dlbook.widgets_rnn",
    "dlbook.scale",
    "dlbook.scale.params",
    "dlbook.scale.flops",
    "dlbook.scale.memory",
    "dlbook.scale.scaling",
    "dlbook.scale.history",
    "dlbook.quantization",
    "dlbook.quantization.numpy_backend",
    "dlbook.pruning",
    "dlbook.pruning.numpy_backend",
    "dlbook.distillation",
    "dlbook.distillation.numpy_backend",
    "dlbook.distillation.training",
    "dlbook.serving",
    "dlbook.serving.checkpoint",
    "dlbook.serving.decoding",
    "dlbook.serving.pipeline",
    "dlbook.serving.numpy_backend",
    "dlbook.lora",
    "dlbook.lora.numpy_backend",
    "dlbook.lora.tasks",
    "dlbook.checks.scale",
    "dlbook.checks.parallel",
    "dlbook.checks.compression",
    "dlbook.checks.trust",
    "dlbook.parallel",
    "dlbook.parallel.mixed_precision",
    "dlbook.parallel.numpy_backend",
    "dlbook.parallel.pipeline",
    "dlbook.parallel.data_parallel",
    "dlbook.parallel.launch",
    "dlbook.attribution",
    "dlbook.attribution.numpy_backend",
    "dlbook.privacy",
    "dlbook.privacy.numpy_backend",
    "dlbook.privacy.membership",
    "dlbook.privacy.accountant",
    "dlbook.privacy.flat",
    "dlbook.privacy.training",
    "dlbook.probes",
    "dlbook.probes.labels",
    "dlbook.probes.linear",
    "dlbook.adversarial",
]


@pytest.mark.parametrize("module", LIGHT_MODULES)
def test_module_does_not_import_frameworks(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "heavy = [m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import {module} loaded {out.stdout.strip()}"


def test_torch_backend_does_load_torch() -> None:
    """The check above can fail: importing a torch backend module does load torch."""
    code = "import sys, dlbook.nn.torch_backend; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
