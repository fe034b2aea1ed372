"""Which input features a prediction rests on (chapter 11): saliency and integrated gradients.

All three backends export the same names, for the digits MLP of :mod:`dlbook.nn`:

=============================================  =============================================
``class_score(model, x, target)``              F(x): the logit of class ``target``, (B,)
``input_gradient(model, x, target)``           dF/dx, (B, D) (NumPy: the MLP's own backward)
``saliency(model, x, target)``                 ``|dF/dx|`` (Simonyan et al. 2014)
``path_points(x, baseline, steps)``            the m midpoints of the straight path
``integrated_gradients(grad_fn, x,``           (x - x') * mean of dF/dx over the midpoints
``baseline, steps=50)``                        (Sundararajan et al. 2017)
``score_grad_fn(model, target)``               the ``grad_fn`` of one class's score
=============================================  =============================================

``backend(name)`` returns a backend module; importing this package loads neither
PyTorch nor TensorFlow.
"""

from __future__ import annotations

from types import ModuleType

from dlbook.backends import load_backend


def backend(name: str) -> ModuleType:
    """``dlbook.attribution.<name>_backend`` for name in numpy, torch, tensorflow (or np, tf)."""
    return load_backend("attribution", name)


# The names every backend module of this concept exports, with the same parameters
# (a backend may add trailing optional ones); tests/test_shared_api.py checks it.
SHARED_API = (
    "class_score",
    "input_gradient",
    "saliency",
    "integrated_gradients",
    "path_points",
    "score_grad_fn",
)

__all__ = ["SHARED_API", "backend"]
