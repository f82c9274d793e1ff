"""Tiny CLIP-style ViT, caption encoder, and LLaMA-style decoder with the MemVP memory branch.

Everything is written with plain ops (Linear, MatMul, Softmax, Gather, ...) so torch.onnx.export (opset 17)
produces clean graphs. See docs/memvp-reference.md for the MemVP math followed here.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


# ----------------------------------------------------------------------------------------------- vision
class ViTBlock(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.ln_2 = nn.LayerNorm(width)
        self.fc = nn.Linear(width, 4 * width)
        self.proj = nn.Linear(4 * width, width)

    def forward(self, x):
        b, t, w = x.shape
        h = self.ln_1(x)
        qkv = self.qkv(h).reshape(b, t, 3, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(w // self.heads)), dim=-1)
        o = torch.matmul(att, v).transpose(1, 2).reshape(b, t, w)
        x = x + self.out(o)
        x = x + self.proj(F.gelu(self.fc(self.ln_2(x))))
        return x


def sincos_2d(grid, width):
    """grid*grid x width: sin and cos of x and of y (row-major patches), width / 4 frequencies each from 1 to
    1/10 radian per patch."""
    q = width // 4
    omega = 10.0 ** (-torch.arange(q, dtype=torch.float32) / q)
    ys, xs = torch.meshgrid(torch.arange(grid, dtype=torch.float32), torch.arange(grid, dtype=torch.float32), indexing='ij')
    ax, ay = xs.reshape(-1, 1) * omega, ys.reshape(-1, 1) * omega
    return torch.cat([ax.sin(), ax.cos(), ay.sin(), ay.cos()], 1)


class TinyViT(nn.Module):
    """CLIP-style ViT: conv patch embedding, CLS token, learned positions, ln_pre, pre-norm blocks, ln_post,
    projection of the CLS token for the contrastive loss. Unlike CLIP the patch embedding has a bias: without one,
    mid-gray (the normalised pixel mean) embeds to almost zero and colours collapse onto ~2 directions (TRIES.md R5).
    The learned positions start as 2D sin-cos features: their dot products then fall off with distance from the
    first step, which attention needs to find an object's closest and furthest neighbours (TRIES.md, "patch features
    that carry relations")."""

    def __init__(self, image_size=64, patch=8, width=128, layers=4, heads=4, embed_dim=128):
        super().__init__()
        self.grid = image_size // patch
        self.width = width
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch, stride=patch, bias=True)
        scale = width ** -0.5
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(torch.cat([torch.zeros(1, width), sincos_2d(self.grid, width)]))
        self.ln_pre = nn.LayerNorm(width)
        self.blocks = nn.ModuleList([ViTBlock(width, heads) for _ in range(layers)])
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, embed_dim))

    def tokens(self, x, upto):
        x = self.conv1(x)  # B x W x g x g
        x = x.flatten(2).transpose(1, 2)  # B x g*g x W
        cls = self.class_embedding.reshape(1, 1, -1).expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding
        x = self.ln_pre(x)
        for blk in self.blocks[:upto]:
            x = blk(x)
        return x

    def forward(self, x):
        """CLS embedding for the contrastive loss."""
        return self.encode(x)[0]

    def encode(self, x):
        """(CLS embedding, MemVP features) from one pass: pretraining contrasts both with the caption."""
        x = self.tokens(x, len(self.blocks) - 1)
        feats = self.ln_post(x[:, 1:])
        x = self.blocks[-1](x)
        return self.ln_post(x[:, 0]) @ self.proj, feats

    def memvp_features(self, x):
        """MemVP visual features: output of all blocks but the last, CLS dropped, ln_post applied (B x m x W)."""
        x = self.tokens(x, len(self.blocks) - 1)
        return self.ln_post(x[:, 1:])


class CaptionEncoder(nn.Module):
    """Small text encoder for fixed-length structured captions: token + position embeddings, flattened, 2-layer MLP."""

    def __init__(self, vocab, length, dim=32, hidden=512, embed_dim=128):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(0.02 * torch.randn(length, dim))
        self.mlp = nn.Sequential(nn.Linear(length * dim, hidden), nn.GELU(), nn.Linear(hidden, embed_dim))

    def forward(self, ids):
        e = self.tok(ids) + self.pos
        return self.mlp(e.flatten(1))


# ----------------------------------------------------------------------------------------------- language
class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class Attention(nn.Module):
    def __init__(self, d, heads, kv_heads):
        super().__init__()
        self.heads, self.kv_heads, self.hd = heads, kv_heads, d // heads
        self.wq = nn.Linear(d, heads * self.hd, bias=False)
        self.wk = nn.Linear(d, kv_heads * self.hd, bias=False)
        self.wv = nn.Linear(d, kv_heads * self.hd, bias=False)
        self.wo = nn.Linear(heads * self.hd, d, bias=False)

    def forward(self, x, cos, sin, past_k, past_v):
        # x: B x L x d; cos/sin: B x 1 x L x hd; past: B x kvh x P x hd
        b, l, _ = x.shape
        g = self.heads // self.kv_heads
        q = self.wq(x).reshape(b, l, self.heads, self.hd).transpose(1, 2)
        k = self.wk(x).reshape(b, l, self.kv_heads, self.hd).transpose(1, 2)
        v = self.wv(x).reshape(b, l, self.kv_heads, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = torch.cat([past_k, k], dim=2)
        v = torch.cat([past_v, v], dim=2)
        p = past_k.shape[2]
        t = k.shape[2]
        # grouped-query attention: heads h = kvh * g + j share kv head kvh
        qg = q.reshape(b, self.kv_heads, g, l, self.hd)
        scores = torch.matmul(qg, k.unsqueeze(2).transpose(-1, -2)) * (1.0 / math.sqrt(self.hd))  # b kvh g l t
        qi = torch.arange(l, device=x.device).unsqueeze(1) + p
        kj = torch.arange(t, device=x.device).unsqueeze(0)
        causal = kj <= qi  # l x t
        scores = scores.masked_fill(~causal, -1e9)
        att = torch.softmax(scores, dim=-1)
        o = torch.matmul(att, v.unsqueeze(2))  # b kvh g l hd
        o = o.reshape(b, self.heads, l, self.hd).transpose(1, 2).reshape(b, l, self.heads * self.hd)
        return self.wo(o), k, v


class DecoderLayer(nn.Module):
    def __init__(self, d, D, heads, kv_heads):
        super().__init__()
        self.attention_norm = RMSNorm(d)
        self.attention = Attention(d, heads, kv_heads)
        self.ffn_norm = RMSNorm(d)
        self.w1 = nn.Linear(d, D, bias=False)
        self.w2 = nn.Linear(D, d, bias=False)
        self.w3 = nn.Linear(d, D, bias=False)

    def forward(self, x, cos, sin, past_k, past_v, mem_k=None, mem_v=None, s=0.1, mem_dropout=0.0):
        a, k, v = self.attention(self.attention_norm(x), cos, sin, past_k, past_v)
        h = x + a
        u = self.ffn_norm(h)
        out = h + self.w2(F.silu(self.w1(u)) * self.w3(u))
        if mem_k is not None:
            # MemVP: s * SiLU(u K^T) V, K/V: (B x) n x d, shared by every layer
            r = F.silu(torch.matmul(u, mem_k.transpose(-1, -2)))
            if mem_dropout > 0:
                r = F.dropout(r, mem_dropout, training=True)
            out = out + s * torch.matmul(r, mem_v)
        return out, k, v


class TinyLlama(nn.Module):
    def __init__(self, vocab, d=128, D=344, layers=4, heads=4, kv_heads=2, max_pos=256, rope_theta=10000.0):
        super().__init__()
        self.vocab, self.d, self.D, self.n_layers, self.heads, self.kv_heads = vocab, d, D, layers, heads, kv_heads
        self.hd = d // heads
        self.tok_embeddings = nn.Embedding(vocab, d)
        self.layers = nn.ModuleList([DecoderLayer(d, D, heads, kv_heads) for _ in range(layers)])
        self.norm = RMSNorm(d)
        self.output = nn.Linear(d, vocab, bias=False)
        inv = 1.0 / (rope_theta ** (torch.arange(0, self.hd, 2).float() / self.hd))
        ang = torch.arange(max_pos).float().unsqueeze(1) * inv.unsqueeze(0)  # max_pos x hd/2
        ang = torch.cat([ang, ang], dim=1)
        self.register_buffer('cos_table', ang.cos(), persistent=False)
        self.register_buffer('sin_table', ang.sin(), persistent=False)
        nn.init.normal_(self.tok_embeddings.weight, std=0.02)

    def empty_past(self, b):
        z = self.tok_embeddings.weight.new_zeros(b, self.kv_heads, 0, self.hd)
        return [(z, z) for _ in self.layers]

    def forward_embeds(self, x, position_ids, past, mem_k=None, mem_v=None, s=0.1, mem_dropout=0.0, last_only=None):
        cos = self.cos_table[position_ids].unsqueeze(1)  # B x 1 x L x hd
        sin = self.sin_table[position_ids].unsqueeze(1)
        presents = []
        for layer, (pk, pv) in zip(self.layers, past):
            x, k, v = layer(x, cos, sin, pk, pv, mem_k, mem_v, s, mem_dropout)
            presents.append((k, v))
        x = self.norm(x)
        return self.output(x), presents

    def forward(self, ids, position_ids=None, past=None, mem_k=None, mem_v=None, s=0.1, mem_dropout=0.0):
        b, l = ids.shape
        if past is None:
            past = self.empty_past(b)
        if position_ids is None:
            position_ids = torch.arange(l).unsqueeze(0).expand(b, l) + past[0][0].shape[2]
        return self.forward_embeds(self.tok_embeddings(ids), position_ids, past, mem_k, mem_v, s, mem_dropout)


class Projector(nn.Module):
    """f: Linear(d_v -> 128) -> SiLU -> Linear(128 -> d)."""

    def __init__(self, dv, d, hidden=128):
        super().__init__()
        self.fc1 = nn.Linear(dv, hidden)
        self.fc2 = nn.Linear(hidden, d)

    def forward(self, z):
        return self.fc2(F.silu(self.fc1(z)))


class MemVP(nn.Module):
    """Visual keys/values: Z = lambda f(z), zero-padded to n rows; K = Z + P_k, V = Z + P_v."""

    def __init__(self, dv, d, n, lam=0.01, use_visual=True):
        super().__init__()
        self.n, self.lam, self.use_visual = n, lam, use_visual
        self.projector = Projector(dv, d)
        self.p_k = nn.Parameter(0.02 * torch.randn(n, d))
        self.p_v = nn.Parameter(torch.zeros(n, d))

    def forward(self, z):
        # z: B x m x dv (or None for "w/o visual prompts")
        if z is None or not self.use_visual:
            b = 1 if z is None else z.shape[0]
            return self.p_k.unsqueeze(0).expand(b, -1, -1), self.p_v.unsqueeze(0).expand(b, -1, -1)
        zz = self.lam * self.projector(z)  # B x m x d
        pad = zz.new_zeros(zz.shape[0], self.n - zz.shape[1], zz.shape[2])
        zz = torch.cat([zz, pad], dim=1)
        return zz + self.p_k, zz + self.p_v
