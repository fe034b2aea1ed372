"""dlbook: the code of an executable textbook on deep learning and large models.

``import dlbook`` is light: it loads NumPy only. PyTorch and TensorFlow load
when a backend module (``dlbook.<concept>.torch_backend`` or
``.tensorflow_backend``) is first imported.
"""

from dlbook._lazy import import_tensorflow, import_torch
from dlbook.backends import BACKENDS, check_backend, load_backend
from dlbook.seeding import make_rng, pin_threads, seed_everything, threads_pinned
from dlbook.versioning import require

__version__ = "0.1.0"

__all__ = [
    "import_tensorflow",
    "import_torch",
    "BACKENDS",
    "__version__",
    "check_backend",
    "load_backend",
    "make_rng",
    "pin_threads",
    "seed_everything",
    "threads_pinned",
    "require",
]
