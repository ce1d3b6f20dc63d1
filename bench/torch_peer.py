"""PyTorch CPU peer of bench/train.ts: the library's four models (lib/models) rebuilt in PyTorch with the same sizes,
target scheme and output head, timed the same way on the same machine.

    /usr/bin/python3 bench/torch_peer.py --model gru --scheme next --batch 1024 --items 40000

Prints one JSON object: ms per training step (median of the timed steps), training and inference sequences per
second, peak RSS, the torch build and the BLAS this process loaded, with its threads (the BLAS decides most of the
matmul speed: Debian's python3-torch calls whatever libblas.so.3 the alternatives system points at — the reference
BLAS, or OpenBLAS once `apt-get install libopenblas0-pthread` is done). Synthetic sessions follow bench/models.ts:
lengths uniform in [min_len, seq_len], items uniform in [2, items).
"""

import argparse
import ctypes
import json
import math
import os
import resource
import statistics
import time

import torch
from torch import nn
import torch.nn.functional as F

NEVER = -1e9  # added to a logit that must never win (padding id 0; OOV 1 is never recommended)
OUTPUT_DIM = 64  # width of every model's last MLP layer (the library's defaults: [128, 64] and [64])
LIBBLAS = "/usr/lib/x86_64-linux-gnu/libblas.so.3"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=["mlp", "gru", "lstm", "transformer"], required=True)
    p.add_argument("--scheme", choices=["last", "next"], default="last")
    p.add_argument("--batch", type=int, default=1024)
    p.add_argument("--seq-len", type=int, default=10)
    p.add_argument("--min-len", type=int, default=2, help="shortest synthetic session")
    p.add_argument("--items", type=int, default=40000, help="catalogue size including padding 0 and OOV 1")
    p.add_argument("--dim", type=int, default=64, help="embedding size = hidden size of every encoder")
    p.add_argument("--no-mlp", action="store_true", help="GRU/LSTM: no MLP after the encoder (states go to the head)")
    p.add_argument("--temperature", type=float, default=1.0, help="logits are divided by this")
    p.add_argument("--sampled", type=int, default=0, help="negatives of a popularity-sampled softmax; 0 = full softmax")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu", help="cpu, or cuda for the GPU check (bench/gpu-check.sh)")
    p.add_argument("--seed", type=int, default=7)
    return p.parse_args()


class ItemEmbedding(nn.Module):
    """The item table, Keras' default init (uniform ±0.05), shared with the tied output head."""

    def __init__(self, items, dim):
        super().__init__()
        self.table = nn.Parameter(torch.empty(items, dim).uniform_(-0.05, 0.05))

    def forward(self, ids):
        return F.embedding(ids, self.table)


def mlp_stack(in_dim, widths):
    layers, width = [], in_dim
    for units in widths:
        layers += [nn.Linear(width, units), nn.ReLU()]
        width = units
    return nn.Sequential(*layers)


class MlpModel(nn.Module):
    """Masked mean of the item embeddings, then MLP [128, 64]: one state per session (predict-last only)."""

    pooled = True

    def __init__(self, embedding, dim):
        super().__init__()
        self.embedding = embedding
        self.mlp = mlp_stack(dim, [128, OUTPUT_DIM])

    def forward(self, items, mask):
        weights = mask.unsqueeze(2)
        mean = (self.embedding(items) * weights).sum(1) / weights.sum(1).clamp(min=1)
        return self.mlp(mean)


class RnnModel(nn.Module):
    """GRU or LSTM (units = dim), then MLP [64]; one state per position. States at padded positions are never read
    (right padding, targets at real positions only), so a plain nn.GRU computes the library's states."""

    pooled = False

    def __init__(self, embedding, dim, cell, mlp=True):
        super().__init__()
        self.embedding = embedding
        self.rnn = (nn.GRU if cell == "gru" else nn.LSTM)(dim, dim, batch_first=True)
        self.mlp = mlp_stack(dim, [OUTPUT_DIM]) if mlp else nn.Identity()
        self.output_dim = OUTPUT_DIM if mlp else dim

    def forward(self, items, mask):
        states, _ = self.rnn(self.embedding(items))
        return self.mlp(states)


class Block(nn.Module):
    """Pre-LN Transformer block: x + Drop(MHSA(LN(x))), x + Drop(W2·GELU(W1·LN(x)))."""

    def __init__(self, d_model, heads, ffn, rate):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.query, self.key, self.value, self.out = (nn.Linear(d_model, d_model) for _ in range(4))
        self.ffn_in, self.ffn_out = nn.Linear(d_model, ffn), nn.Linear(ffn, d_model)
        self.drop = nn.Dropout(rate)

    def attention(self, x, bias):
        b, length, d = x.shape
        split = lambda t: t.view(b, length, self.heads, d // self.heads).transpose(1, 2)  # [b, h, L, hd]
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d // self.heads) + bias
        attended = self.drop(torch.softmax(scores, -1)) @ v
        return self.out(attended.transpose(1, 2).reshape(b, length, d))

    def forward(self, x, bias):
        x = x + self.drop(self.attention(self.norm1(x), bias))
        return x + self.drop(self.ffn_out(F.gelu(self.ffn_in(self.norm2(x)))))


class TransformerModel(nn.Module):
    """Projection to d_model + learned positions, 2 causal pre-LN blocks (4 heads, FFN 4·d, dropout 0.1), final LN,
    MLP [64]."""

    pooled = False

    def __init__(self, embedding, dim, seq_len):
        super().__init__()
        self.embedding = embedding
        self.projection = nn.Linear(dim, dim)
        self.positions = nn.Parameter(torch.randn(seq_len, dim) * 0.02)
        self.blocks = nn.ModuleList(Block(dim, 4, 4 * dim, 0.1) for _ in range(2))
        self.norm = nn.LayerNorm(dim)
        self.drop = nn.Dropout(0.1)
        self.mlp = mlp_stack(dim, [OUTPUT_DIM])

    def forward(self, items, mask):
        b, length = items.shape
        padded_keys = ((1 - mask) * NEVER).view(b, 1, 1, length)
        later_keys = torch.triu(torch.full((length, length), NEVER), diagonal=1)
        bias = padded_keys + later_keys
        x = self.drop(self.projection(self.embedding(items)) + self.positions[:length])
        for block in self.blocks:
            x = block(x, bias)
        return self.mlp(self.norm(x))


class Head(nn.Module):
    """Tied output head: logits = h·Eᵀ + b over the catalogue (id 0 excluded), full or popularity-sampled softmax
    (S negatives shared by the rows, accidental hits dropped, logQ-corrected)."""

    def __init__(self, embedding, items, hidden_dim, sampled, temperature=1.0):
        super().__init__()
        self.temperature = temperature
        self.embedding = embedding
        item_dim = embedding.table.shape[1]
        # As the library's head: states are projected to the item-embedding size when the sizes differ.
        self.project = nn.Identity() if hidden_dim == item_dim else nn.Linear(hidden_dim, item_dim)
        self.bias = nn.Parameter(torch.zeros(items))
        self.sampled = sampled
        exclusion = torch.zeros(items)
        exclusion[0] = NEVER
        self.register_buffer("exclusion", exclusion)
        self.log_q = math.log(1.0 / (items - 1))  # uniform popularity over ids >= 1

    def logits(self, states):
        return (self.project(states) @ self.embedding.table.t() + self.bias + self.exclusion) / self.temperature

    def loss(self, states, targets):
        if self.sampled == 0:
            return F.cross_entropy(self.logits(states), targets)
        negatives = torch.randint(1, self.embedding.table.shape[0], (self.sampled,))
        states = self.project(states)
        positive = (states * self.embedding.table[targets]).sum(1, keepdim=True) + self.bias[targets].unsqueeze(1)
        negative = states @ self.embedding.table[negatives].t() + self.bias[negatives]
        hits = (targets.unsqueeze(1) == negatives.unsqueeze(0)).float() * NEVER
        logits = torch.cat([positive, negative + hits], 1) - self.log_q
        return F.cross_entropy(logits, torch.zeros(len(targets), dtype=torch.long))


def synthetic_sessions(batch, seq_len, items, generator, min_len=2):
    """Right-padded sessions of min_len..seq_len events: ids [b, L] (0 = padding), lengths [b]."""
    lengths = torch.randint(min_len, seq_len + 1, (batch,), generator=generator)
    ids = torch.randint(2, items, (batch, seq_len), generator=generator)
    positions = torch.arange(seq_len).unsqueeze(0)
    return ids * (positions < lengths.unsqueeze(1)), lengths


def training_example(ids, lengths, scheme, pooled):
    """(inputs, mask, row-major flat positions of the states to score or session rows, targets)."""
    b, seq_len = ids.shape
    positions = torch.arange(seq_len).unsqueeze(0)
    if scheme == "next":
        mask = (positions < lengths.unsqueeze(1)).float()
        has_target = positions < (lengths - 1).unsqueeze(1)
        targets = ids[:, 1:][has_target[:, :-1]]
        return ids, mask, has_target.reshape(-1).nonzero().squeeze(1), targets
    last = lengths - 1
    inputs = ids * (positions < last.unsqueeze(1))
    mask = (positions < last.unsqueeze(1)).float()
    targets = ids[torch.arange(b), last]
    where = torch.arange(b) if pooled else torch.arange(b) * seq_len + (last - 1).clamp(min=0)
    return inputs, mask, where, targets


def step_loss(model, head, example):
    inputs, mask, where, targets = example
    hidden = model(inputs, mask)
    states = hidden if model.pooled else hidden.reshape(-1, hidden.shape[-1])[where]
    return head.loss(states, targets)


@torch.no_grad()
def recommend(model, head, ids, lengths, k=10):
    """Top-k ids after each session's last event (padding and OOV never recommended)."""
    mask = (torch.arange(ids.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)).float()
    hidden = model(ids, mask)
    states = hidden if model.pooled else hidden[torch.arange(len(ids)), lengths - 1]
    logits = head.logits(states)
    logits[:, 1] = NEVER
    return logits.topk(k, 1).indices


def blas_kind(mapped):
    """(kind, path) of the BLAS among the paths of the libraries mapped into a process: "openblas", "mkl",
    "reference" (Debian's .../blas/libblas.so.3 of package libblas3: single-threaded, unoptimised) or "unknown"."""
    openblas = next((path for path in mapped if "openblas" in os.path.basename(path)), None)
    if openblas is not None:
        return "openblas", openblas
    mkl = next((path for path in mapped if "mkl" in os.path.basename(path)), None)
    if mkl is not None:
        return "mkl", mkl
    libblas = next((path for path in mapped if os.path.basename(path).startswith("libblas.so")), None)
    if libblas is not None:
        return ("reference" if os.path.basename(os.path.dirname(libblas)) == "blas" else "unknown"), libblas
    return "unknown", f"{os.path.realpath(LIBBLAS)} (not mapped)"


def blas_in_use():
    """(kind, description, threads) of the BLAS this process has loaded — call after a matmul. torch's own BLAS_INFO
    says only "generic" for Debian's build, so the answer comes from the libraries mapped into the process."""
    mapped = sorted({line.split()[-1] for line in open("/proc/self/maps") if len(line.split()) >= 6})
    kind, path = blas_kind(mapped)
    if kind == "openblas":
        library = ctypes.CDLL(path)
        library.openblas_get_config.restype = ctypes.c_char_p
        return kind, f"{library.openblas_get_config().decode().strip()} ({path})", library.openblas_get_num_threads()
    return kind, path, torch.get_num_threads() if kind == "mkl" else 1


def median_ms(run, repeats, sync):
    """Median wall-clock milliseconds of run(); sync() waits for the GPU's queued work (CUDA runs asynchronously)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        sync()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    ids, lengths = synthetic_sessions(args.batch, args.seq_len, args.items, generator, args.min_len)  # on the CPU generator
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    if device.type != "cpu":
        torch.set_default_device(device)  # every tensor below, the models' included (torch >= 2.0)
        ids, lengths = ids.to(device), lengths.to(device)
    embedding = ItemEmbedding(args.items, args.dim)
    model = {
        "mlp": lambda: MlpModel(embedding, args.dim),
        "gru": lambda: RnnModel(embedding, args.dim, "gru", not args.no_mlp),
        "lstm": lambda: RnnModel(embedding, args.dim, "lstm", not args.no_mlp),
        "transformer": lambda: TransformerModel(embedding, args.dim, args.seq_len),
    }[args.model]()
    if model.pooled and args.scheme != "last":
        raise SystemExit(f"torch_peer: the {args.model} model is pooled and trains with --scheme last only")
    head = Head(embedding, args.items, getattr(model, "output_dim", OUTPUT_DIM), args.sampled, args.temperature)
    parameters = {id(p): p for p in [*model.parameters(), *head.parameters()]}.values()
    optimizer = torch.optim.Adam(parameters, lr=1e-3)
    example = training_example(ids, lengths, args.scheme, model.pooled)

    def train_step():
        optimizer.zero_grad()
        loss = step_loss(model, head, example)
        loss.backward()
        optimizer.step()

    model.train()
    for _ in range(args.warmup):
        train_step()
    sync()
    step_ms = median_ms(train_step, args.steps, sync)
    model.eval()
    one = (ids[:1], lengths[:1])
    recommend(model, head, *one)
    batch1_ms = median_ms(lambda: recommend(model, head, *one), 20, sync)
    recommend(model, head, ids, lengths)
    full_ms = median_ms(lambda: recommend(model, head, ids, lengths), 3, sync)
    blas_kind, blas, blas_threads = blas_in_use()
    print(json.dumps({
        "model": args.model,
        "scheme": args.scheme,
        "sampled": args.sampled,
        "msPerStep": step_ms,
        "trainSeqPerSec": args.batch / step_ms * 1000,
        "targetsPerStep": int(example[3].numel()),
        "inferBatch1PerSec": 1000 / batch1_ms,
        "inferBatchPerSec": args.batch / full_ms * 1000,
        "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "torch": torch.__version__,
        "blas": blas,
        "blasKind": blas_kind,
        "blasThreads": blas_threads,
        "threads": torch.get_num_threads(),
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
    }))


if __name__ == "__main__":
    main()
