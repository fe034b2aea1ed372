"""Automatic differentiation from scratch: a scalar engine and a NumPy tensor engine.

``Value`` (in :mod:`dlbook.autograd.scalar`) differentiates expressions of single
numbers and shows the chain rule one multiplication at a time. ``Tensor`` (in
:mod:`dlbook.autograd.tensor`) does the same for NumPy arrays, with broadcasting,
reductions and indexing, enough to train an MLP. Both are checked against
PyTorch in float64 by the tests; neither imports PyTorch.

=======================================  ===========================================
``Value(data, label="")``                a number that records how it was made
``topological_order(root)``              graph nodes, inputs first, ``root`` last
``graph_edges(root)``                    ``(nodes, edges)`` for drawing the graph
``Tensor(data, requires_grad=False)``    a float64 array that records how it was made
``unbroadcast(grad, shape)``             sum a gradient back over broadcast copies
``log_softmax(x, axis=-1)``              stable log-softmax of a Tensor
``softmax(x, axis=-1)``                  stable softmax of a Tensor
``cross_entropy(logits, labels)``        mean over the batch of -log softmax[y]
=======================================  ===========================================
"""

from dlbook.autograd.scalar import Value, graph_edges, topological_order
from dlbook.autograd.tensor import Tensor, cross_entropy, log_softmax, softmax, unbroadcast

__all__ = [
    "Tensor",
    "Value",
    "cross_entropy",
    "graph_edges",
    "log_softmax",
    "softmax",
    "topological_order",
    "unbroadcast",
]
