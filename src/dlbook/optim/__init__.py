"""Optimizers written from scratch, with step semantics that match ``torch.optim``.

Chapter 1 needs only SGD with momentum; chapter 2 adds the rest.
"""
