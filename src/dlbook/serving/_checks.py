"""Shape checks of the one-head KV-cache functions, shared by every backend (no framework)."""

from __future__ import annotations


def check_projection_shapes(C: int, shapes: tuple[tuple[int, ...], ...]) -> int:
    """W_q, W_k, W_v must all be (C, D); returns D."""
    for shape, name in zip(shapes, ("W_q", "W_k", "W_v"), strict=True):
        if len(shape) != 2 or shape != shapes[0] or shape[0] != C:
            raise ValueError(
                f"{name} has shape {shape}; W_q, W_k and W_v must all be (C, D) with "
                f"C = {C}, the width of the hidden state (stored (in, out): q = x @ W_q)."
            )
    return shapes[0][1]


def check_decode_shapes(
    x_shape: tuple[int, ...],
    w_shapes: tuple[tuple[int, ...], ...],
    k_shape: tuple[int, ...],
    v_shape: tuple[int, ...],
) -> None:
    """x_t (B, C), W_* (C, D), k_cache and v_cache (B, P, D), with learner-facing messages."""
    if len(x_shape) != 2:
        raise ValueError(
            f"x_t must be (B, C), one hidden state per sequence, got shape {x_shape}. "
            "For a single sequence use x_t[None]."
        )
    B, C = x_shape
    D = check_projection_shapes(C, w_shapes)
    for shape, name in ((k_shape, "k_cache"), (v_shape, "v_cache")):
        if len(shape) != 3 or shape[0] != B or shape[2] != D:
            raise ValueError(
                f"{name} has shape {shape} but must be (B, P, D) = ({B}, P, {D}): one "
                "key (value) of width D per earlier token. Start with zeros of shape (B, 0, D)."
            )
    if k_shape != v_shape:
        raise ValueError(f"k_cache {k_shape} and v_cache {v_shape} must have the same shape.")
