#!/usr/bin/python3
"""Reference files from PyTorch itself, and the check that PyTorch reloads what tapegrad writes.

Run with Debian's python3 (python3-torch, python3-numpy; never needed by CI):

  /usr/bin/python3 scripts/pytorch_fixtures.py generate
      Writes tests/interop/fixtures/: for each model (an MLP, a small CNN with batch norm, a
      transformer encoder layer, a two-layer bidirectional LSTM) and each dtype (f32, f64)
        <model>_<dtype>.safetensors  its state_dict, as safetensors.torch.save_file writes it
        <model>_<dtype>.npz          its state_dict, as np.savez (f64) / np.savez_compressed (f32)
        <model>_<dtype>_io.safetensors  the inputs and PyTorch's outputs (eval mode)
      tests/interop/pytorch_fixtures_test.cpp loads them into tapegrad's modules by name and
      reproduces the outputs (1e-6 float32, 1e-12 float64).

  /usr/bin/python3 scripts/pytorch_fixtures.py check build/tests/interop/written
      The same test, after training each model a few steps in tapegrad, writes its state_dict
      (safetensors and npz) and tapegrad's outputs there. This loads every file into the PyTorch
      module with load_state_dict(strict=True), runs it on the same inputs and compares with
      tapegrad's outputs (same tolerances): PyTorch reloads what tapegrad writes. It also checks
      that tapegrad's safetensors files are byte for byte what the reference layout gives.

Debian has no python3-safetensors, so the format (8-byte little-endian header length, JSON header,
raw little-endian data) is written and read here as the Rust reference crate does: tensors laid out
by decreasing dtype size, then name; the header padded with spaces to a multiple of 8 bytes.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "interop", "fixtures")
DTYPES = {"f32": torch.float32, "f64": torch.float64}
TOLERANCE = {"f32": 1e-6, "f64": 1e-12}
ST_DTYPE = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}
NP_DTYPE = {"F32": np.float32, "F64": np.float64, "I64": np.int64}


def save_safetensors(tensors, path, metadata=None):
    """safetensors.torch.save_file's layout: dtype alignment first, then name."""
    order = sorted(tensors, key=lambda k: (-tensors[k].element_size(), k))
    header, offset, blobs = {}, 0, []
    if metadata:
        header["__metadata__"] = metadata
    for name in order:
        t = tensors[name].detach().contiguous()
        data = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": ST_DTYPE[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    data = raw[8 + n:]
    out = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=np.dtype(NP_DTYPE[e["dtype"]]).newbyteorder("<"))
        out[name] = torch.from_numpy(array.reshape(e["shape"]).copy())
    return out


def mlp():
    return nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))


def cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(6), nn.ReLU(),
                         nn.Flatten(), nn.Linear(6 * 2 * 2, 3))


def transformer():
    return nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, batch_first=True)


def lstm():
    return nn.LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True)


def inputs(name, dtype, gen):
    if name == "mlp":
        return {"input": torch.randn(4, 6, generator=gen, dtype=dtype)}
    if name == "cnn":
        return {"input": torch.randn(2, 1, 8, 8, generator=gen, dtype=dtype)}
    if name == "transformer":
        return {"input": torch.randn(2, 5, 8, generator=gen, dtype=dtype)}
    return {"input": torch.randn(2, 5, 3, generator=gen, dtype=dtype),
            "h0": torch.randn(4, 2, 4, generator=gen, dtype=dtype),
            "c0": torch.randn(4, 2, 4, generator=gen, dtype=dtype)}


def outputs(name, model, io):
    """Eval mode with gradients enabled: PyTorch's transformer then takes its standard path, not
    the fused inference kernel (same maths, other rounding)."""
    model.eval()
    if name == "lstm":
        out, (h, c) = model(io["input"], (io["h0"], io["c0"]))
        return {"output": out, "h_n": h, "c_n": c}
    return {"output": model(io["input"])}


MODELS = {"mlp": mlp, "cnn": cnn, "transformer": transformer, "lstm": lstm}


def build(name, dtype, seed):
    torch.manual_seed(seed)
    model = MODELS[name]().to(dtype)
    if name == "cnn":
        # Batch norm with statistics and affine parameters that are not their initial values.
        with torch.no_grad():
            for m in model:
                if isinstance(m, nn.BatchNorm2d):
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.uniform_(-0.5, 0.5)
        model.train()
        for _ in range(3):
            model(torch.randn(5, 1, 8, 8, dtype=dtype))
    return model


def generate():
    os.makedirs(FIXTURES, exist_ok=True)
    for seed, name in enumerate(MODELS):
        for tag, dtype in DTYPES.items():
            model = build(name, dtype, seed)
            state = {k: v.detach() for k, v in model.state_dict().items()}
            base = os.path.join(FIXTURES, f"{name}_{tag}")
            save_safetensors(state, base + ".safetensors", {"format": "pt"})
            arrays = {k: v.numpy() for k, v in state.items()}
            (np.savez_compressed if tag == "f32" else np.savez)(base + ".npz", **arrays)
            gen = torch.Generator().manual_seed(100 + seed)
            io = inputs(name, dtype, gen)
            io.update({k: v.detach() for k, v in outputs(name, model, io).items()})
            save_safetensors(io, base + "_io.safetensors")
            print(f"fixtures: {name} {tag}: {len(state)} tensors, {sum(v.numel() for v in state.values())} values")


def worst(ours, theirs):
    return max(((a - b).abs() / b.abs().clamp(min=1)).max().item() for a, b in zip(ours, theirs))


def check(folder):
    failures, checked = 0, 0
    for seed, name in enumerate(MODELS):
        for tag, dtype in DTYPES.items():
            base = os.path.join(folder, f"{name}_{tag}")
            if not os.path.exists(base + "_io.safetensors"):
                print(f"check: {name} {tag}: no {base}_io.safetensors (run the interop tests first)")
                failures += 1
                continue
            io = load_safetensors(base + "_io.safetensors")
            for fmt in ("safetensors", "npz"):
                path = f"{base}.{fmt}"
                if not os.path.exists(path):
                    print(f"check: {name} {tag}: no {path}")
                    failures += 1
                    continue
                if fmt == "safetensors":
                    state = load_safetensors(path)
                    # tapegrad's writer lays the file out as the reference does, byte for byte.
                    save_safetensors(state, path + ".reference")
                    with open(path, "rb") as a, open(path + ".reference", "rb") as b:
                        same = a.read() == b.read()
                    os.remove(path + ".reference")
                    print(f"check: {name} {tag}: tapegrad's safetensors bytes "
                          f"{'are' if same else 'are NOT'} the reference layout's")
                    failures += not same
                else:
                    with np.load(path) as z:
                        state = {k: torch.from_numpy(z[k].copy()) for k in z.files}
                model = MODELS[name]().to(dtype)
                model.load_state_dict(state, strict=True)
                expected = [io[k] for k in ("output", "h_n", "c_n") if k in io]
                got = [t.detach() for t in outputs(name, model, io).values()]
                err = worst(got, expected)
                ok = err <= TOLERANCE[tag]
                failures += not ok
                checked += 1
                print(f"check: {name} {tag} {fmt}: PyTorch's outputs from tapegrad's weights differ by "
                      f"{err:.2e} ({'ok' if ok else 'FAILED'}, tolerance {TOLERANCE[tag]:g})")
    print(f"check: {checked} files loaded into PyTorch, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "generate":
        generate()
    elif len(sys.argv) == 3 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2]))
    else:
        sys.exit(__doc__)
