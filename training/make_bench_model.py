"""A LLaMA-shaped MemVP model with random weights, for the latency benchmark (`npm run bench`).

Built from the project's own model classes (training/models.py: TinyLlama with the MemVP branch) and exported with
the same code path as the shipped model (training/pipeline.py: DecoderGraph + export_graph, opset 17), into a
package with the demo model's layout and manifest format:

  decoder.onnx            input_ids, position_ids, past_*, memory_k, memory_v -> logits, present_*   (memvp)
  decoder_inputspace.onnx inputs_embeds, position_ids, past_*               -> logits, present_*   (input-space / text-only)
  embed.onnx              input_ids -> inputs_embeds
  manifest.json

Differences from the shipped model, all for timing: random weights (seeded), no vision graphs (the benchmark feeds
random memory K/V and random visual embeddings), and logits only for the LAST position ([1, 1, vocab]): the final
RMSNorm is preceded by a slice x[:, -1:], so a prefill does not pay for an L x d x vocab LM head it never reads.

Default shape (the benchmark's): d=1024, D=2816, 2 layers, 16 heads, 16 KV heads (no GQA), vocab 32000, n=256 memory
entries, 256 visual tokens, RoPE table of 1024 positions. About 730 MB of float32 ONNX files: never commit them.
The output directory is reused when its manifest records the same configuration (pass --force to rebuild).

usage: /usr/bin/python3 training/make_bench_model.py [--out .cache/bench-llama] [--force] [--d 1024 ...]
"""
import argparse
import hashlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from models import TinyLlama  # noqa: E402
from pipeline import DecoderGraph, EmbedGraph, export_graph  # noqa: E402

FORMAT = 1  # bump when the exported graphs change, so stale caches are rebuilt


class LastPosition(nn.Module):
    """Keeps the last position only: x[:, -1:] (B x 1 x d)."""

    def forward(self, x):
        return x[:, -1:]


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 22), b''):
            h.update(chunk)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default='.cache/bench-llama')
    ap.add_argument('--force', action='store_true')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--d', type=int, default=1024)
    ap.add_argument('--D', type=int, default=2816)
    ap.add_argument('--layers', type=int, default=2)
    ap.add_argument('--heads', type=int, default=16)
    ap.add_argument('--kv-heads', type=int, default=16)
    ap.add_argument('--vocab', type=int, default=32000)
    ap.add_argument('--n', type=int, default=256, help='MemVP memory entries')
    ap.add_argument('--visual-tokens', type=int, default=256, help='visual tokens of the input-space mode')
    ap.add_argument('--max-pos', type=int, default=1024)
    ap.add_argument('--s', type=float, default=0.1)
    args = ap.parse_args()

    config = dict(format=FORMAT, seed=args.seed, d=args.d, D=args.D, layers=args.layers, heads=args.heads, kvHeads=args.kv_heads,
                  vocab=args.vocab, n=args.n, visualTokens=args.visual_tokens, maxPositions=args.max_pos, s=args.s)
    out = args.out
    manifest_path = os.path.join(out, 'manifest.json')
    if not args.force and os.path.exists(manifest_path):
        try:
            old = json.load(open(manifest_path))
            if old.get('benchConfig') == config and all(os.path.getsize(os.path.join(out, f)) == v['bytes'] for f, v in old['files'].items()):
                print(f'make_bench_model: reusing {out} (same configuration)', flush=True)
                return
        except (OSError, ValueError, KeyError):
            pass
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    t0 = time.time()

    torch.manual_seed(args.seed)
    lm = TinyLlama(args.vocab, args.d, args.D, args.layers, args.heads, args.kv_heads, args.max_pos).eval()
    for p in lm.parameters():
        p.requires_grad_(False)
    # Logits of the last position only: forward_embeds runs self.norm then self.output on what norm returns.
    lm.norm = nn.Sequential(LastPosition(), lm.norm)

    d, L_, kvh, hd, n = args.d, args.layers, args.kv_heads, args.d // args.heads, args.n
    past_names = [f'{kv}_{i}' for i in range(L_) for kv in ('past_key', 'past_value')]
    present_names = [f'{kv}_{i}' for i in range(L_) for kv in ('present_key', 'present_value')]
    g = torch.Generator().manual_seed(args.seed + 1)
    graphs = {}

    eg = EmbedGraph(lm).eval()
    ids_ex = torch.randint(0, args.vocab, (1, 5), generator=g)
    graphs['embed.onnx'] = dict(inputs={'input_ids': [1, 'seq']}, outputs={'inputs_embeds': [1, 'seq', d]})
    graphs['embed.onnx']['ops'] = export_graph(eg, (ids_ex,), os.path.join(out, 'embed.onnx'), ['input_ids'], ['inputs_embeds'],
                                               {'input_ids': {1: 'seq'}, 'inputs_embeds': {1: 'seq'}})
    print(f'make_bench_model: embed.onnx ({time.time() - t0:.0f} s)', flush=True)

    for fname, embeds, memory in [('decoder.onnx', False, True), ('decoder_inputspace.onnx', True, False)]:
        P, Lq = 3, 5
        ins = {('inputs_embeds' if embeds else 'input_ids'): (torch.randn(1, Lq, d, generator=g) * 0.05 if embeds else torch.randint(0, args.vocab, (1, Lq), generator=g)),
               'position_ids': (torch.arange(Lq) + P).unsqueeze(0)}
        for i in range(L_):
            ins[f'past_key_{i}'] = torch.randn(1, kvh, P, hd, generator=g)
            ins[f'past_value_{i}'] = torch.randn(1, kvh, P, hd, generator=g)
        if memory:
            ins['memory_k'] = torch.randn(n, d, generator=g) * 0.02
            ins['memory_v'] = torch.randn(n, d, generator=g) * 0.02
        names_in = list(ins.keys())
        dyn = {names_in[0]: {1: 'seq'}, 'position_ids': {1: 'seq'}}
        for nm in past_names:
            dyn[nm] = {2: 'past'}
        for nm in present_names:
            dyn[nm] = {2: 'total'}
        dg = DecoderGraph(lm, args.s, memory, embeds).eval()
        with torch.no_grad():
            logits = dg(*ins.values())[0]
        assert tuple(logits.shape) == (1, 1, args.vocab), logits.shape
        ops = export_graph(dg, tuple(ins.values()), os.path.join(out, fname), names_in, ['logits'] + present_names, dyn)
        graphs[fname] = dict(
            inputs={nm: ([1, 'seq'] if nm in ('input_ids', 'position_ids') else [1, 'seq', d] if nm == 'inputs_embeds'
                         else [n, d] if nm.startswith('memory') else [1, kvh, 'past', hd]) for nm in names_in},
            outputs=dict({'logits': [1, 1, args.vocab]}, **{nm: [1, kvh, 'past+seq', hd] for nm in present_names}),
            ops=ops)
        print(f'make_bench_model: {fname} ({time.time() - t0:.0f} s)', flush=True)

    files = {f: dict(sha256=sha256(os.path.join(out, f)), bytes=os.path.getsize(os.path.join(out, f))) for f in sorted(graphs)}
    manifest = {
        'name': f'bench-llama-d{d}-l{L_}',
        'architecture': 'llama',
        'dtype': 'f32',
        'opset': 17,
        'randomWeights': True,
        'note': 'random weights (seeded) for latency benchmarks only; logits of the last position only; no vision graphs',
        'benchConfig': config,
        'lm': dict(d=d, D=args.D, layers=L_, heads=args.heads, kvHeads=kvh, headDim=hd, vocab=args.vocab, norm='rmsnorm',
                   normEps=1e-5, rope='rotate-half', ropeTheta=10000.0, maxPositions=args.max_pos, ffn='swiglu', logits='last-position'),
        'memvp': dict(n=n, s=args.s, visualTokens=args.visual_tokens,
                      branch='out = h + FFN_swiglu(u) + s * SiLU(u K^T) V, u = RMSNorm_ffn(h), every layer'),
        'modes': {
            'memvp': {'decoder': 'decoder.onnx', 'usage': 'memory_k, memory_v: random [n, d] inputs (no vision graph)'},
            'inputSpace': {'embed': 'embed.onnx', 'decoder': 'decoder_inputspace.onnx',
                           'usage': 'inputs_embeds = concat(random visual embeds [1, visualTokens, d], embed(ids))'},
            'textOnly': {'embed': 'embed.onnx', 'decoder': 'decoder_inputspace.onnx'},
        },
        'graphs': graphs,
        'files': files,
        'totalBytes': sum(f['bytes'] for f in files.values()),
    }
    json.dump(manifest, open(manifest_path, 'w'), indent=1)
    print(f'make_bench_model: wrote {out} ({manifest["totalBytes"] / 1e6:.0f} MB, {time.time() - t0:.0f} s)', flush=True)


if __name__ == '__main__':
    main()
