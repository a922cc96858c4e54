"""Static key/shape specs of the four FLUX.1 files, as sd-scripts and ComfyUI load them.

Nothing here imports sd-scripts, ComfyUI or transformers: the layouts are written out from the
published model definitions, and tests compare them with the real builders (ComfyUI's model
detection in ``tests/devkit``, the engine's loaders in ``tests/engine``).

- DiT: Black Forest Labs single-file layout of FLUX.1-dev (``double_blocks.N.*``,
  ``single_blocks.N.*``, ``guidance_in.*`` present, so loaders detect "dev", not "schnell").
  Width is fixed by both loaders (hidden 3072, 24 heads of 128, mlp ratio 4, 64 latent channels in,
  T5 context 4096, CLIP pooled vector 768); only the block counts are read from the file, which is
  what makes a 1 + 1 block model legal.
- AE: the FLUX autoencoder (ch 128, ch_mult 1/2/4/4, 2 res blocks, z 16): 83.8M params.
- CLIP-L: Hugging Face ``CLIPTextModel`` keys (``text_model.*``), ViT-L/14 text tower: 123.1M params.
- T5-XXL: Hugging Face ``T5EncoderModel`` keys (``shared.weight``, ``encoder.block.N.*``), T5 v1.1
  XXL (24 blocks, d_model 4096, d_ff 10240, 64 heads): 4,762.3M params. It cannot be made smaller:
  both loaders use a fixed config and a missing block stays unallocated.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

# Kinds of initial values a tensor gets (see devkit.safetensors_stream).
ZEROS = "zeros"
ONES = "ones"
NORMAL = "normal"


@dataclass(frozen=True)
class TensorSpec:
    """One tensor of a checkpoint: name, shape and how to fill it (``std`` is for NORMAL)."""

    name: str
    shape: tuple[int, ...]
    init: str = NORMAL
    std: float = 0.0

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


def _weight(name: str, *shape: int) -> TensorSpec:
    """A weight drawn from N(0, 1/fan_in): activations keep roughly unit scale through the layers."""
    fan_in = math.prod(shape[1:])
    return TensorSpec(name, tuple(shape), NORMAL, 1.0 / math.sqrt(fan_in))


def _linear(prefix: str, out_features: int, in_features: int, bias: bool = True) -> Iterator[TensorSpec]:
    yield _weight(f"{prefix}.weight", out_features, in_features)
    if bias:
        yield TensorSpec(f"{prefix}.bias", (out_features,), ZEROS)


def _norm(prefix: str, width: int, bias: bool = True) -> Iterator[TensorSpec]:
    yield TensorSpec(f"{prefix}.weight", (width,), ONES)
    if bias:
        yield TensorSpec(f"{prefix}.bias", (width,), ZEROS)


# ---------------------------------------------------------------------------------------------
# FLUX.1-dev DiT (BFL layout)

FLUX_HIDDEN = 3072
FLUX_HEADS = 24
FLUX_HEAD_DIM = FLUX_HIDDEN // FLUX_HEADS  # 128 = sum(axes_dim 16, 56, 56)
FLUX_MLP = 4 * FLUX_HIDDEN
FLUX_IN_CHANNELS = 64  # 16 latent channels x 2x2 patches
FLUX_CONTEXT = 4096  # T5-XXL width
FLUX_VEC = 768  # CLIP-L pooled output
FLUX_TIME_FREQS = 256
FULL_DOUBLE_BLOCKS = 19
FULL_SINGLE_BLOCKS = 38


def _mlp_embedder(prefix: str, in_dim: int) -> Iterator[TensorSpec]:
    yield from _linear(f"{prefix}.in_layer", FLUX_HIDDEN, in_dim)
    yield from _linear(f"{prefix}.out_layer", FLUX_HIDDEN, FLUX_HIDDEN)


def _qk_norm(prefix: str) -> Iterator[TensorSpec]:
    yield TensorSpec(f"{prefix}.query_norm.scale", (FLUX_HEAD_DIM,), ONES)
    yield TensorSpec(f"{prefix}.key_norm.scale", (FLUX_HEAD_DIM,), ONES)


def _double_block(i: int) -> Iterator[TensorSpec]:
    for stream in ("img", "txt"):
        p = f"double_blocks.{i}.{stream}"
        yield from _linear(f"{p}_mod.lin", 6 * FLUX_HIDDEN, FLUX_HIDDEN)
        yield from _linear(f"{p}_attn.qkv", 3 * FLUX_HIDDEN, FLUX_HIDDEN)
        yield from _qk_norm(f"{p}_attn.norm")
        yield from _linear(f"{p}_attn.proj", FLUX_HIDDEN, FLUX_HIDDEN)
        yield from _linear(f"{p}_mlp.0", FLUX_MLP, FLUX_HIDDEN)
        yield from _linear(f"{p}_mlp.2", FLUX_HIDDEN, FLUX_MLP)


def _single_block(i: int) -> Iterator[TensorSpec]:
    p = f"single_blocks.{i}"
    yield from _linear(f"{p}.linear1", 3 * FLUX_HIDDEN + FLUX_MLP, FLUX_HIDDEN)
    yield from _linear(f"{p}.linear2", FLUX_HIDDEN, FLUX_HIDDEN + FLUX_MLP)
    yield from _qk_norm(f"{p}.norm")
    yield from _linear(f"{p}.modulation.lin", 3 * FLUX_HIDDEN, FLUX_HIDDEN)


def flux_dit_layout(double_blocks: int, single_blocks: int, guidance: bool = True) -> list[TensorSpec]:
    """FLUX.1 DiT tensors; ``guidance=False`` gives the schnell layout (no ``guidance_in``)."""
    if double_blocks < 1 or single_blocks < 1:
        got = f"{double_blocks} + {single_blocks}"
        raise ValueError(f"a FLUX DiT needs at least 1 double and 1 single block, got {got}")
    specs = [*_linear("img_in", FLUX_HIDDEN, FLUX_IN_CHANNELS)]
    specs += _mlp_embedder("time_in", FLUX_TIME_FREQS)
    specs += _mlp_embedder("vector_in", FLUX_VEC)
    if guidance:
        specs += _mlp_embedder("guidance_in", FLUX_TIME_FREQS)
    specs += _linear("txt_in", FLUX_HIDDEN, FLUX_CONTEXT)
    for i in range(double_blocks):
        specs += _double_block(i)
    for i in range(single_blocks):
        specs += _single_block(i)
    specs += _linear("final_layer.linear", FLUX_IN_CHANNELS, FLUX_HIDDEN)
    specs += _linear("final_layer.adaLN_modulation.1", 2 * FLUX_HIDDEN, FLUX_HIDDEN)
    return specs


# ---------------------------------------------------------------------------------------------
# FLUX autoencoder

AE_CH = 128
AE_CH_MULT = (1, 2, 4, 4)
AE_RES_BLOCKS = 2
AE_Z_CHANNELS = 16
AE_IMAGE_CHANNELS = 3


def _conv(prefix: str, out_ch: int, in_ch: int, k: int) -> Iterator[TensorSpec]:
    yield _weight(f"{prefix}.weight", out_ch, in_ch, k, k)
    yield TensorSpec(f"{prefix}.bias", (out_ch,), ZEROS)


def _resnet(prefix: str, in_ch: int, out_ch: int) -> Iterator[TensorSpec]:
    yield from _norm(f"{prefix}.norm1", in_ch)
    yield from _conv(f"{prefix}.conv1", out_ch, in_ch, 3)
    yield from _norm(f"{prefix}.norm2", out_ch)
    yield from _conv(f"{prefix}.conv2", out_ch, out_ch, 3)
    if in_ch != out_ch:
        yield from _conv(f"{prefix}.nin_shortcut", out_ch, in_ch, 1)


def _ae_mid(prefix: str, ch: int) -> Iterator[TensorSpec]:
    yield from _resnet(f"{prefix}.block_1", ch, ch)
    yield from _norm(f"{prefix}.attn_1.norm", ch)
    for proj in ("q", "k", "v", "proj_out"):
        yield from _conv(f"{prefix}.attn_1.{proj}", ch, ch, 1)
    yield from _resnet(f"{prefix}.block_2", ch, ch)


def flux_ae_layout() -> list[TensorSpec]:
    """The FLUX AE (encoder + decoder), as in BFL's ``ae.safetensors``."""
    specs = [*_conv("encoder.conv_in", AE_CH, AE_IMAGE_CHANNELS, 3)]
    in_mult = (1, *AE_CH_MULT)
    last = len(AE_CH_MULT) - 1
    for level, mult in enumerate(AE_CH_MULT):
        block_in, block_out = AE_CH * in_mult[level], AE_CH * mult
        for b in range(AE_RES_BLOCKS):
            specs += _resnet(f"encoder.down.{level}.block.{b}", block_in, block_out)
            block_in = block_out
        if level != last:
            specs += _conv(f"encoder.down.{level}.downsample.conv", block_in, block_in, 3)
    top = AE_CH * AE_CH_MULT[-1]
    specs += _ae_mid("encoder.mid", top)
    specs += _norm("encoder.norm_out", top)
    specs += _conv("encoder.conv_out", 2 * AE_Z_CHANNELS, top, 3)

    specs += _conv("decoder.conv_in", top, AE_Z_CHANNELS, 3)
    specs += _ae_mid("decoder.mid", top)
    block_in = top
    for level in reversed(range(len(AE_CH_MULT))):
        block_out = AE_CH * AE_CH_MULT[level]
        for b in range(AE_RES_BLOCKS + 1):
            specs += _resnet(f"decoder.up.{level}.block.{b}", block_in, block_out)
            block_in = block_out
        if level != 0:
            specs += _conv(f"decoder.up.{level}.upsample.conv", block_in, block_in, 3)
    specs += _norm("decoder.norm_out", block_in)
    specs += _conv("decoder.conv_out", AE_IMAGE_CHANNELS, block_in, 3)
    return specs


# ---------------------------------------------------------------------------------------------
# CLIP-L text encoder (Hugging Face CLIPTextModel)

CLIP_WIDTH = 768
CLIP_LAYERS = 12
CLIP_MLP = 3072
CLIP_VOCAB = 49408
CLIP_POSITIONS = 77


def clip_l_layout() -> list[TensorSpec]:
    """``CLIPTextModel`` state dict without the non-persistent ``position_ids`` buffer."""
    emb = "text_model.embeddings"
    specs = [
        TensorSpec(f"{emb}.token_embedding.weight", (CLIP_VOCAB, CLIP_WIDTH), NORMAL, 0.02),
        TensorSpec(f"{emb}.position_embedding.weight", (CLIP_POSITIONS, CLIP_WIDTH), NORMAL, 0.01),
    ]
    for i in range(CLIP_LAYERS):
        p = f"text_model.encoder.layers.{i}"
        for proj in ("k_proj", "v_proj", "q_proj", "out_proj"):
            specs += _linear(f"{p}.self_attn.{proj}", CLIP_WIDTH, CLIP_WIDTH)
        specs += _norm(f"{p}.layer_norm1", CLIP_WIDTH)
        specs += _linear(f"{p}.mlp.fc1", CLIP_MLP, CLIP_WIDTH)
        specs += _linear(f"{p}.mlp.fc2", CLIP_WIDTH, CLIP_MLP)
        specs += _norm(f"{p}.layer_norm2", CLIP_WIDTH)
    specs += _norm("text_model.final_layer_norm", CLIP_WIDTH)
    return specs


# ---------------------------------------------------------------------------------------------
# T5 v1.1 XXL encoder (Hugging Face T5EncoderModel)

T5_D_MODEL = 4096
T5_D_FF = 10240
T5_HEADS = 64
T5_D_KV = 64
T5_BLOCKS = 24
T5_VOCAB = 32128
T5_REL_BUCKETS = 32


def t5xxl_layout() -> list[TensorSpec]:
    """``T5EncoderModel`` state dict; ``encoder.embed_tokens`` is tied to ``shared`` and not stored."""
    inner = T5_HEADS * T5_D_KV
    specs = [TensorSpec("shared.weight", (T5_VOCAB, T5_D_MODEL), NORMAL, 1.0)]
    for i in range(T5_BLOCKS):
        attn = f"encoder.block.{i}.layer.0"
        for proj in ("q", "k", "v"):
            specs += _linear(f"{attn}.SelfAttention.{proj}", inner, T5_D_MODEL, bias=False)
        specs += _linear(f"{attn}.SelfAttention.o", T5_D_MODEL, inner, bias=False)
        if i == 0:
            bias_table = f"{attn}.SelfAttention.relative_attention_bias.weight"
            specs.append(_weight(bias_table, T5_REL_BUCKETS, T5_HEADS))
        specs += _norm(f"{attn}.layer_norm", T5_D_MODEL, bias=False)
        ff = f"encoder.block.{i}.layer.1"
        specs += _linear(f"{ff}.DenseReluDense.wi_0", T5_D_FF, T5_D_MODEL, bias=False)
        specs += _linear(f"{ff}.DenseReluDense.wi_1", T5_D_FF, T5_D_MODEL, bias=False)
        specs += _linear(f"{ff}.DenseReluDense.wo", T5_D_MODEL, T5_D_FF, bias=False)
        specs += _norm(f"{ff}.layer_norm", T5_D_MODEL, bias=False)
    specs += _norm("encoder.final_layer_norm", T5_D_MODEL, bias=False)
    return specs


def parameter_count(specs: list[TensorSpec]) -> int:
    return sum(s.numel for s in specs)
