#!/usr/bin/env python3
"""Summarises scripts/bench.sh's runs: min and median per workload and program, the ratios the
performance targets are stated in, and bench/RESULTS.md (machine, versions, table, targets, notes)."""
import json
import math
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

PROGRAMS = ["tapegrad", "floor", "libtorch"]
UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
LINEAR_FLOP = 6 * 512 * 4096 * 4096  # forward + dx + dW, 2 m n k each
SGEMM_FLOP = 2 * 512 * 4096 * 4096


# Flop counts per iteration of the rows that report a "GFLOP/s" counter (the convolutions), by name.
FLOPS = {}
# LibTorch's other paths for a row, reported beside its default: "/native" (ATen's own kernels
# with oneDNN off), "/blasN" (OpenBLAS thread counts), "/intraN" (intra-op threads), "/native-intraN";
# the floor's bandwidth rows "/threadsN" (writing threads).
VARIANT = re.compile(r"/(blas\d+|native|intra\d+|native-intra\d+|threads\d+)$")


def load(run_dir):
    """{program: {benchmark name: [seconds per iteration, one per round]}}; fills FLOPS. Rows timed
    with UseRealTime() carry a "/real_time" suffix, dropped here."""
    samples = {p: defaultdict(list) for p in PROGRAMS}
    for path in sorted(Path(run_dir).glob("*-round*.json")):
        program = path.name.split("-round")[0]
        for b in json.loads(path.read_text())["benchmarks"]:
            name = b["name"].removesuffix("/real_time")
            seconds = b["real_time"] * UNIT_NS[b["time_unit"]] * 1e-9
            samples[program][name].append(seconds)
            if "GFLOP/s" in b:  # a rate over wall-clock time: flops per iteration = rate x seconds
                FLOPS[VARIANT.sub("", name)] = b["GFLOP/s"] * 1e9 * seconds
    return samples


def best_variant(runs, name):
    """(min, median, variant) of the variant of `name` (e.g. '/blas1', '/blas2') with the lowest min."""
    found = [(min(v), statistics.median(v), k[len(name):]) for k, v in runs.items() if k == name or k.startswith(name + "/")]
    if not found:
        return None
    low, med, variant = min(found)
    return low, med, variant.lstrip("/")


def fmt_time(s):
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s * 1e9:.3g} ns"


def workload_names(samples):
    names = list(samples["tapegrad"])  # tapegrad's order, then rows only the others have
    for p in PROGRAMS[1:]:
        for n in samples[p]:
            base = VARIANT.sub("", n)
            if base not in names:
                names.append(base)
    return names


def table(samples):
    have_torch = bool(samples["libtorch"])
    head = "| workload | tapegrad min (median) | floor min (median) | tapegrad / floor |"
    rule = "|---|---|---|---|"
    if have_torch:
        head += " LibTorch min (median) | LibTorch / tapegrad (speed-up) |"
        rule += "---|---|"
    rows = [head, rule]
    stats = {}
    for name in workload_names(samples):
        per = {p: best_variant(samples[p], name) for p in PROGRAMS}
        stats[name] = per
        cell = lambda r: "-" if r is None else f"{fmt_time(r[0])} ({fmt_time(r[1])})" + (f" [{r[2]}]" if r[2] else "")
        ours = per["tapegrad"]
        ratio = lambda other: "-" if other is None or ours is None else f"{ours[0] / other[0]:.2f}x"
        row = f"| {name} | {cell(ours)} | {cell(per['floor'])} | {ratio(per['floor'])} |"
        if have_torch:
            speed = "-" if per["libtorch"] is None or ours is None else f"{per['libtorch'][0] / ours[0]:.2f}x"
            row += f" {cell(per['libtorch'])} | {speed} |"
        rows.append(row)
    return "\n".join(rows), stats


def verdict(ok, text):
    return f"- {'MET' if ok else 'NOT MET'}: {text}"


def targets(stats, samples):
    out = []
    get = lambda name, prog: (stats.get(name) or {}).get(prog)
    for batch, want in ((1, 2.5), (32, 1.2), (256, 1.2), (1024, 1.0)):
        name = f"mlp_step/{batch}"
        ours, floor, torch = get(name, "tapegrad"), get(name, "floor"), get(name, "libtorch")
        if ours and floor:
            r = ours[0] / floor[0]
            out.append(verdict(r <= 1.15, f"{name}: {r:.2f}x the hand-written floor (target <= 1.15x)"))
        if ours and torch:
            s = torch[0] / ours[0]
            out.append(verdict(s >= want, f"{name}: {s:.2f}x LibTorch's speed (target >= {want}x)"))
    ours, torch = get("op_overhead_x100", "tapegrad"), get("op_overhead_x100", "libtorch")
    if ours:
        per_op = ours[0] / 100 * 1e6
        text = f"autograd overhead: {per_op:.2f} us per op, forward + backward (target <= 0.25 us"
        if torch:
            text += f"; LibTorch {torch[0] / 100 * 1e6:.2f} us, ratio {per_op / (torch[0] / 100 * 1e6):.2f}"
        out.append(verdict(per_op <= 0.25, text + ")"))
    ours, peak = get("linear4096_b512", "tapegrad"), get("sgemm_peak", "floor")
    if ours and peak:
        g, p = LINEAR_FLOP / ours[0] / 1e9, SGEMM_FLOP / peak[0] / 1e9
        torch = get("linear4096_b512", "libtorch")
        extra = f"; LibTorch {LINEAR_FLOP / torch[0] / 1e9:.0f} GFLOP/s" if torch else ""
        out.append(verdict(g >= 0.95 * p, f"Linear 4096 step: {g:.0f} GFLOP/s = {100 * g / p:.0f}% of sgemm's {p:.0f} GFLOP/s (target >= 95%){extra}"))
    # N-d linear algebra: the batched matmul against the same 192 bare sgemm calls, both rows against LibTorch.
    for name, floor_target in (("matmul_4d/8x8x128x64", 1.1), ("linear_3d/32x128x512", None)):
        ours, floor, torch = get(name, "tapegrad"), get(name, "floor"), get(name, "libtorch")
        if ours and floor and floor_target:
            r = ours[0] / floor[0]
            out.append(verdict(r <= floor_target, f"{name}: {r:.2f}x the same number of bare sgemm calls (target <= {floor_target}x)"))
        if ours and torch:
            r = ours[0] / torch[0]
            out.append(verdict(r <= 1.0, f"{name}: {r:.2f}x LibTorch's time (target <= 1x)"))
    # Convolution and pooling, forward + backward: each at most LibTorch's best time (the best of its
    # default path, oneDNN, and its native kernels, each at 1 and 2 intra-op threads).
    for prefix in ("conv2d_3x3/", "conv2d_depthwise/", "cnn_conv1/", "cnn_conv2/", "max_pool2d_2x2/", "cnn_step/"):
        for name in (n for n in stats if n.startswith(prefix)):
            ours, torch = get(name, "tapegrad"), get(name, "libtorch")
            if ours and torch:
                r = ours[0] / torch[0]
                path = f", its {torch[2]} path" if torch[2] else ""
                out.append(verdict(r <= 1.0, f"{name}: {r:.2f}x LibTorch's best time{path} (target <= 1x)"))
    # Sequence-model layers, forward + backward: each at most LibTorch's best time.
    for prefix in ("embedding/", "dropout/", "sdpa_causal/", "mha_self/", "layer_norm/", "batch_norm1d/", "lstm/",
                   "gru/"):
        for name in (n for n in stats if n.startswith(prefix)):
            ours, torch = get(name, "tapegrad"), get(name, "libtorch")
            if ours and torch:
                r = ours[0] / torch[0]
                out.append(verdict(r <= 1.0, f"{name}: {r:.2f}x LibTorch's time (target <= 1x)"))
    # Forward mode (issue 15): a jvp at most 2x its forward; jacfwd faster than jacrev for a tall-thin f.
    for model in ("mlp_forward/32", "cnn_forward/32"):
        plain, jvp = get(model, "tapegrad"), get(model + "+jvp", "tapegrad")
        if plain and jvp:
            r = jvp[0] / plain[0]
            out.append(verdict(r <= 2.0, f"{model}+jvp: {r:.2f}x its forward (target <= 2x)"))
    fwd, rev = get("jacobian_tall_8x512/jacfwd", "tapegrad"), get("jacobian_tall_8x512/jacrev", "tapegrad")
    if fwd and rev:
        out.append(verdict(fwd[0] < rev[0], f"jacobian_tall_8x512: jacfwd {rev[0] / fwd[0]:.1f}x faster than jacrev"))
    # Per-sample gradients (issue 15): against one batched backward; the result's 120 MB written
    # against the machine's write bandwidth (the floor's rows, best of plain and non-temporal stores).
    batched = get("per_sample/128/batched_backward", "tapegrad")
    for name, want in (("per_sample/128/per_sample_grads", 2.0), ("per_sample/128/per_sample_grad_norms", 1.3)):
        ours = get(name, "tapegrad")
        if ours and batched:
            r = ours[0] / batched[0]
            out.append(verdict(r <= want, f"{name}: {r:.2f}x one batched backward (target <= {want}x)"))
    ours = get("per_sample/128/per_sample_grads", "tapegrad")
    writes = [w for w in (get(f"bandwidth/write_120MB{k}", "floor") for k in ("", "_streaming")) if w]
    if ours and writes:
        best = min(w[0] for w in writes)
        out.append(f"- per_sample/128/per_sample_grads: {0.12 / ours[0]:.1f} GB/s of result written, "
                   f"{100 * best / ours[0]:.0f}% of the machine's best 120 MB write ({0.12 / best:.1f} GB/s)")
    loop = get("per_sample/128/loop_over_samples", "libtorch")
    if ours and loop:
        out.append(f"- per_sample/128/per_sample_grads: {loop[0] / ours[0]:.1f}x faster than LibTorch's loop over samples")
    return "\n".join(out)


def bandwidth(stats):
    lines = []
    for name, per in stats.items():
        op, _, n = name.partition("/")
        if op not in ("add", "relu", "exp") or not per["tapegrad"]:
            continue
        nbytes = (3 if op == "add" else 2) * int(n) * 4
        cols = [f"{p} {nbytes / per[p][0] / 1e9:.1f} GB/s" for p in PROGRAMS if per[p]]
        lines.append(f"- {name}: " + ", ".join(cols))
    return "\n".join(lines)


def gflops(stats):
    """The convolution rows' rates (forward + both gradients, 3 x 2 N O C/groups kH kW H W flops)
    at each program's best time, against one sgemm at the Linear 4096 shape (the floor's
    sgemm_peak, on OpenBLAS's default threads)."""
    peak = (stats.get("sgemm_peak") or {}).get("floor")
    peak_rate = SGEMM_FLOP / peak[0] / 1e9 if peak else None
    head = "| workload | GFLOP | tapegrad GFLOP/s | LibTorch GFLOP/s (path) |" + (" tapegrad / sgemm peak |" if peak_rate else "")
    rows = [head, "|---|---|---|---|" + ("---|" if peak_rate else "")]
    for name, flops in FLOPS.items():
        per = stats.get(name) or {}
        ours, torch = per.get("tapegrad"), per.get("libtorch")
        rate = lambda r: "-" if r is None else f"{flops / r[0] / 1e9:.0f}"
        path = "" if torch is None else f" ({torch[2] or 'default'})"
        row = f"| {name} | {flops / 1e9:.3g} | {rate(ours)} | {rate(torch)}{path} |"
        if peak_rate:
            row += "-" if ours is None else f" {100 * flops / ours[0] / 1e9 / peak_rate:.0f}% of {peak_rate:.0f} |"
        rows.append(row)
    return "\n".join(rows) if FLOPS else ""


def anomaly(stats):
    """What anomaly mode costs: the '+anomaly' rows against the same rows with it off."""
    lines = []
    for name, per in stats.items():
        base = name.removesuffix("+anomaly")
        off = (stats.get(base) or {}).get("tapegrad")
        if base == name or not per["tapegrad"] or not off:
            continue
        on = per["tapegrad"]
        lines.append(f"- {base}: off {fmt_time(off[0])}, on {fmt_time(on[0])} ({on[0] / off[0]:.2f}x)")
    return "\n".join(lines)


EPOCH_LINE = re.compile(r"^epoch \d+/\d+: .*test accuracy ([\d.]+)%\s+[\d.]+s \((\d+) samples/s\)", re.M)


def load_fashion(run_dir, prefix="fashion"):
    """{run name: {"epochs": [seconds], "rss": [kB, one per round], "accuracy": [final %, one per round]}}
    from the example's output in `prefix`-<name>-round<r>.txt (the epoch time is the training-set
    size over its samples/s, which has more digits than its seconds) and /usr/bin/time -v's peak RSS."""
    runs = defaultdict(lambda: {"epochs": [], "rss": [], "accuracy": []})
    for path in sorted(Path(run_dir).glob(f"{prefix}-*-round*.txt")):
        name = path.name[len(prefix) + 1:].split("-round")[0]
        text = path.read_text()
        size = int(re.search(r"(\d+) training", text).group(1))
        epochs = EPOCH_LINE.findall(text)
        runs[name]["epochs"] += [size / float(rate) for _, rate in epochs]
        runs[name]["accuracy"].append(float(epochs[-1][0]))
        timing = path.with_suffix(".time").read_text()
        runs[name]["rss"].append(int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", timing).group(1)))
    return runs


def fashion(runs):
    """The Fashion-MNIST table and its two target lines; LibTorch at its best OpenBLAS thread count."""
    ours = runs.get("tapegrad")
    torch_runs = {k: v for k, v in runs.items() if k.startswith("libtorch")}
    if not ours:
        return "", "- NOT MEASURED: Fashion-MNIST epoch time and peak RSS (no run; see scripts/bench.sh)"
    rows = ["| program | epoch time min (median) | peak RSS (median of rounds) | final test accuracy (median) |",
            "|---|---|---|---|"]
    row = lambda label, r: (f"| {label} | {fmt_time(min(r['epochs']))} ({fmt_time(statistics.median(r['epochs']))}) | "
                            f"{statistics.median(r['rss']) / 1024:.0f} MB | {statistics.median(r['accuracy']):.2f}% |")
    rows.append(row("tapegrad (`examples/fashion_mnist`)", ours))
    if not torch_runs:
        return "\n".join(rows), "- NOT MEASURED: Fashion-MNIST against LibTorch (LibTorch not installed)"
    best = min(torch_runs, key=lambda k: min(torch_runs[k]["epochs"]))
    theirs = torch_runs[best]
    rows.append(row(f"LibTorch (`bench/libtorch_fashion_mnist`) [{best.removeprefix('libtorch-')}]", theirs))
    time_ratio = min(ours["epochs"]) / min(theirs["epochs"])
    rss_ours, rss_theirs = statistics.median(ours["rss"]) / 1024, statistics.median(theirs["rss"]) / 1024
    rows.append(f"| tapegrad / LibTorch | {time_ratio:.2f}x | {rss_ours / rss_theirs:.2f}x | - |")
    verdicts = [
        verdict(time_ratio <= 0.7, f"Fashion-MNIST epoch time: {time_ratio:.2f}x LibTorch's (target <= 0.7x)"),
        verdict(rss_ours <= rss_theirs,
                f"Fashion-MNIST peak RSS: {rss_ours:.0f} MB, {rss_ours / rss_theirs:.2f}x LibTorch's {rss_theirs:.0f} MB "
                "(target <= 1x)"),
    ]
    return "\n".join(rows), "\n".join(verdicts)


CNN_ACCURACY = 92.5  # the goal: the CNN's test accuracy after its 15 epochs


def cnn(runs):
    """The Fashion-MNIST CNN's table (examples/fashion_mnist --model cnn beside its LibTorch port)
    and its target lines: the accuracy goal, and the epoch time against LibTorch's."""
    ours = runs.get("tapegrad")
    if not ours:
        return "", "- NOT MEASURED: the Fashion-MNIST CNN (no run; see scripts/bench.sh, CNN_EPOCHS)"
    epochs = len(ours["epochs"]) // len(ours["accuracy"])
    rows = ["| program | epochs | final test accuracy (median of rounds) | epoch time mean (min) | peak RSS (median) |",
            "|---|---|---|---|---|"]
    row = lambda label, r: (f"| {label} | {len(r['epochs']) // len(r['accuracy'])} | "
                            f"{statistics.median(r['accuracy']):.2f}% | {fmt_time(statistics.mean(r['epochs']))} "
                            f"({fmt_time(min(r['epochs']))}) | {statistics.median(r['rss']) / 1024:.0f} MB |")
    rows.append(row("tapegrad (`examples/fashion_mnist --model cnn`)", ours))
    accuracy = statistics.median(ours["accuracy"])
    verdicts = [verdict(accuracy >= CNN_ACCURACY, f"Fashion-MNIST CNN: {accuracy:.2f}% test accuracy after {epochs} "
                        f"epochs (target >= {CNN_ACCURACY}% within 15)")]
    torch_runs = {k: v for k, v in runs.items() if k.startswith("libtorch")}
    if not torch_runs:
        return "\n".join(rows), "\n".join(verdicts + ["- NOT MEASURED: the CNN against LibTorch (not installed)"])
    best = min(torch_runs, key=lambda k: statistics.mean(torch_runs[k]["epochs"]))
    theirs = torch_runs[best]
    rows.append(row(f"LibTorch (`bench/libtorch_fashion_mnist --model cnn`) [{best.removeprefix('libtorch-')}]",
                    theirs))
    time_ratio = statistics.mean(ours["epochs"]) / statistics.mean(theirs["epochs"])
    rss_ratio = statistics.median(ours["rss"]) / statistics.median(theirs["rss"])
    rows.append(f"| tapegrad / LibTorch | - | {accuracy - statistics.median(theirs['accuracy']):+.2f} points | "
                f"{time_ratio:.2f}x | {rss_ratio:.2f}x |")
    verdicts.append(verdict(time_ratio <= 1, f"Fashion-MNIST CNN epoch time: {time_ratio:.2f}x LibTorch's "
                            "(mean over epochs; target <= 1x)"))
    return "\n".join(rows), "\n".join(verdicts)


CHAR_STEP = re.compile(r"^step (\d+)/\d+: .*?val loss ([\d.]+) nats .*?([\d.]+) ms/step", re.M)
CHAR_BASELINES = re.compile(r"unigram ([\d.]+) nats.*bigram ([\d.]+) nats", re.S)


def load_char(run_dir):
    """{"tapegrad-transformer": {"steps", "val", "ms", "rss", "unigram", "bigram"}, ...} from the char
    models' outputs (ms: the mean of the per-evaluation ms/step, each over the same number of
    steps) and /usr/bin/time -v's peak RSS."""
    runs = {}
    for path in sorted(Path(run_dir).glob("char-*.txt")):
        text = path.read_text()
        steps = CHAR_STEP.findall(text)
        if not steps:
            continue
        timing = path.with_suffix(".time").read_text()
        baselines = CHAR_BASELINES.search(text)
        runs[path.stem[len("char-"):]] = {
            "steps": int(steps[-1][0]), "val": float(steps[-1][1]),
            "ms": statistics.mean(float(ms) for _, _, ms in steps),
            "rss": int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", timing).group(1)),
            "unigram": float(baselines.group(1)) if baselines else float("nan"),
            "bigram": float(baselines.group(2)) if baselines else float("nan")}
    return runs


def char_models(runs):
    """The character-level models' table and their target lines."""
    ours = runs.get("tapegrad-transformer")
    if not ours:
        return "", "- NOT MEASURED: the character-level models (no run; see scripts/bench.sh)"
    rows = ["| program | model | steps | validation loss (nats, bits/char) | ms/step (mean) | peak RSS |",
            "|---|---|---|---|---|---|"]
    labels = {"tapegrad": "tapegrad (`examples/char_transformer`)", "libtorch": "LibTorch (`bench/libtorch_char_model`)"}
    for name, r in sorted(runs.items(), key=lambda kv: (kv[0].split("-")[1], kv[0])):
        program, model = name.split("-", 1)
        rows.append(f"| {labels[program]} | {model} | {r['steps']} | {r['val']:.4f} ({r['val'] / math.log(2):.3f}) | "
                    f"{r['ms']:.0f} ms | {r['rss'] / 1024:.0f} MB |")
    verdicts = [verdict(ours["val"] <= 0.9 * ours["bigram"],
                        f"char transformer: validation loss {ours['val']:.4f} nats against the bigram model's "
                        f"{ours['bigram']:.4f} and the unigram's {ours['unigram']:.4f} on the same split "
                        "(target: at least 10% below the bigram's)")]
    theirs = runs.get("libtorch-transformer")
    if not theirs:
        return "\n".join(rows), "\n".join(verdicts + ["- NOT MEASURED: char models against LibTorch (not installed)"])
    gap = ours["val"] / theirs["val"] - 1
    time_ratio = ours["ms"] / theirs["ms"]
    verdicts += [
        verdict(abs(gap) <= 0.02, f"char transformer: validation loss after {ours['steps']} steps {ours['val']:.4f}, "
                f"LibTorch's {theirs['val']:.4f} ({gap:+.1%}; target within 2%)"),
        verdict(time_ratio <= 0.8, f"char transformer step time: {time_ratio:.2f}x LibTorch's (target <= 0.8x)"),
        verdict(ours["rss"] <= theirs["rss"], f"char transformer peak RSS: {ours['rss'] / 1024:.0f} MB, "
                f"{ours['rss'] / theirs['rss']:.2f}x LibTorch's {theirs['rss'] / 1024:.0f} MB (target <= 1x)"),
    ]
    lstm, torch_lstm = runs.get("tapegrad-lstm"), runs.get("libtorch-lstm")
    if lstm and torch_lstm:
        ratio = lstm["ms"] / torch_lstm["ms"]
        verdicts.append(verdict(ratio <= 1, f"char LSTM step time: {ratio:.2f}x LibTorch's (target <= 1x)"))
    return "\n".join(rows), "\n".join(verdicts)


DIST_LINE = re.compile(r"^distributed_bench (.*)$", re.M)
DIST_SPEEDUP = 1.7  # issue 16: 2 ranks (1 BLAS thread each) against 1 rank
DIST_HIDDEN = 0.5   # issue 16: at least half of the allreduce time hidden behind backward


def load_dist(run_dir):
    """{(program, bucket_cap_mb, ranks): [the line's fields, one dict per round]} from the data-parallel
    runs' dist-*-round*.txt (bench/distributed_line.hpp's key=value line, printed by rank 0)."""
    runs = defaultdict(list)
    for path in sorted(Path(run_dir).glob("dist-*-round*.txt")):
        line = DIST_LINE.search(path.read_text())
        if not line:
            continue
        fields = dict(kv.split("=", 1) for kv in line.group(1).split())
        model = fields.get("model", "784-256-128-10")
        runs[(fields["program"], model, float(fields["bucket_cap_mb"]), int(fields["ranks"]))].append(fields)
    return runs


def data_parallel(runs):
    """The data-parallel MLP's table (samples/s at 1 and 2 ranks per configuration, the speed-up, the
    hidden share and the buckets) and its two target lines, on tapegrad's best configuration."""
    if not any(program == "tapegrad" and ranks == 2 for program, _, _, ranks in runs):
        return "", "- NOT MEASURED: the data-parallel MLP (no run; see scripts/bench.sh, DIST_STEPS; needs MPI)"
    rows = ["| program | model | bucket cap | buckets (bytes) | samples/s, 1 rank | samples/s, 2 ranks | 2 ranks / 1 | "
            "exposed / span per step, 2 ranks | hidden share, 2 ranks |",
            "|---|---|---|---|---|---|---|---|---|"]
    median = lambda rounds, key: statistics.median(float(f[key]) for f in rounds)
    results = []
    configs = sorted({(p, m, c) for p, m, c, _ in runs}, key=lambda pmc: (pmc[0] != "tapegrad", len(pmc[1]), -pmc[2]))
    for program, model, cap in configs:
        one, two = runs.get((program, model, cap, 1)), runs.get((program, model, cap, 2))
        if not two:
            continue
        speedup = median(two, "samples_per_s") / median(one, "samples_per_s") if one else float("nan")
        hidden = median(two, "hidden")
        label = ("tapegrad `DataParallel` (`bench/bench_distributed`)" if program == "tapegrad" else
                 "LibTorch, allreduce after backward on Gloo (`bench/libtorch_distributed_bench`)")
        cap_text = f"{cap:g} MB" if cap > 0 else "none (one allreduce per parameter)"
        rows.append(f"| {label} | {model} | {cap_text} | {two[0]['buckets']} "
                    f"({two[0]['bucket_bytes'].replace(',', ', ')}) | "
                    f"{median(one, 'samples_per_s') if one else float('nan'):.0f} | {median(two, 'samples_per_s'):.0f} | "
                    f"{speedup:.2f}x | {median(two, 'exposed_ms'):.2f} / {median(two, 'span_ms'):.2f} ms | "
                    f"{hidden:.0%} |")
        if program == "tapegrad":
            results.append((speedup, hidden, cap, two[0]["buckets"], model))
    mlp = [r for r in results if r[4] == "784-256-128-10"] or results
    best = max(mlp)
    overlap = max(results, key=lambda r: r[1])
    verdicts = [
        verdict(best[0] >= DIST_SPEEDUP, f"data-parallel MLP: 2 ranks train {best[0]:.2f}x the samples/s of 1 rank "
                f"(1 BLAS thread each, bucket cap {best[2]:g} MB; target >= {DIST_SPEEDUP}x)"),
        verdict(overlap[1] >= DIST_HIDDEN, f"data-parallel: {overlap[1]:.0%} of the allreduce time hidden behind "
                f"backward ({overlap[4]}, bucket cap {overlap[2]:g} MB, {overlap[3]} buckets; "
                f"target >= {DIST_HIDDEN:.0%})"),
    ]
    return "\n".join(rows), "\n".join(verdicts)


def main():
    run_dir, machine, out_path, notes = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    samples = load(run_dir)
    rounds = max((len(v) for v in samples["tapegrad"].values()), default=0)
    text, stats = table(samples)
    fashion_table, fashion_targets = fashion(load_fashion(run_dir))
    cnn_table, cnn_targets = cnn(load_fashion(run_dir, "cnn"))
    char_table, char_targets = char_models(load_char(run_dir))
    dist_table, dist_targets = data_parallel(load_dist(run_dir))
    body = [
        "# tapegrad benchmarks: side by side with LibTorch and a hand-written raw-BLAS floor",
        "",
        "Generated by `scripts/bench.sh`; rerun it to refresh this file. Each program runs in",
        f"its own process, the three alternating, {rounds} rounds; times are wall-clock per iteration,",
        "min over rounds (median in parentheses). Ratios, not absolute times, are the point: the",
        "machine is shared and noisy. `[blasN]` marks the OpenBLAS thread count with the best minimum for that",
        "program (the floor and LibTorch are run at 1 and 2; tapegrad runs with its defaults).",
        "",
        "## Machine and versions",
        "",
        Path(machine).read_text().strip(),
        "",
        "## Results",
        "",
        text,
        "",
    ]
    if bandwidth(stats):
        body += ["Elementwise ops (forward, grad mode off), effective bandwidth (bytes read + written):", "",
                 bandwidth(stats), ""]
    if gflops(stats):
        body += ["Convolutions, forward + backward (input and weight gradients), in GFLOP/s at the best time; "
                 "LibTorch at its fastest path, `default` (oneDNN for these shapes) or `native` (oneDNN off), "
                 "at 1 or 2 intra-op threads (`intra2`):", "",
                 gflops(stats), ""]
    if anomaly(stats):
        body += ["Anomaly mode, tapegrad only: the plain rows above run with it off (the default);",
                 "`+anomaly` rows run the same workload inside a `DetectAnomalyGuard` (min over rounds):", "",
                 anomaly(stats), ""]
    if fashion_table:
        body += ["Fashion-MNIST, the example's recipe (MLP 784-256-128-10, Adam 1e-3, batch 128, no schedule), "
                 "each program in its own process, alternating; an epoch is training plus the test-set evaluation:",
                 "", fashion_table, ""]
    if cnn_table:
        body += ["Fashion-MNIST CNN, the recipe of `examples/fashion_mnist --model cnn` (2 conv blocks with batch norm, "
                 "max pooling, dropout, 3136-128-10; Adam with L2 1e-4 under OneCycleLR peaking at 3e-3, per batch; "
                 "batch 100), each program in its own process; an epoch is training plus the test-set evaluation:",
                 "", cnn_table, ""]
    if char_table:
        body += ["Character-level models on Debian's fortunes corpus, the recipe of examples/char_recipe.hpp "
                 "(transformer: 4 pre-norm layers, d 128, 4 heads, block 128, batch 32, AdamW with warm-up and "
                 "cosine; LSTM: 2 layers of 240), one training run per program, LibTorch with 2 intra-op threads; "
                 "ms/step is training only (evaluations excluded):", "", char_table, ""]
    if dist_table:
        body += ["Data-parallel MLP training (issue 16): the Fashion-MNIST MLP (784-256-128-10, Adam 1e-3, "
                 "cross-entropy) on synthetic batches of 128 per rank, under `mpirun`, 1 OpenBLAS thread per rank; "
                 "samples/s over all ranks (median of rounds). Hidden share: 1 - exposed/span per step, averaged "
                 "(bench/distributed_line.hpp); LibTorch's recipe allreduces after backward, so none is hidden. "
                 "See docs/distributed.md, \"Measured on one machine\":", "", dist_table, ""]
    body += [
        "## Performance targets",
        "",
        targets(stats, samples),
        fashion_targets,
        cnn_targets,
        char_targets,
        dist_targets,
        "",
    ]
    alloc = Path(run_dir) / "alloc.md"
    if alloc.exists():
        counts = [float(row.split("|")[3]) for row in alloc.read_text().splitlines()[2:] if row.count("|") > 4]
        body += [verdict(counts and max(counts) == 0,
                         f"heap allocations per step after warm-up: {max(counts, default=float('nan')):.0f} at most "
                         "(MLP step at batch 1 and 32, and with a create_graph penalty; target 0)"), ""]
        body += ["Heap allocations of tapegrad's MLP step after warm-up (`bench_alloc`, global operator new):", "",
                 alloc.read_text().strip(), ""]
    compile_md = Path(run_dir) / "compile.md"
    if compile_md.exists():
        body += ["What a consumer pays to compile one translation unit that includes the umbrella header, beside "
                 "xtensor's own headers:", "", compile_md.read_text().strip(), ""]
    if Path(notes).exists():
        body += [Path(notes).read_text().strip(), ""]
    Path(out_path).write_text("\n".join(body))
    print(text)
    print()
    print(targets(stats, samples))
    print(fashion_targets)
    print(cnn_targets)
    print(char_targets)
    print(dist_targets)


if __name__ == "__main__":
    main()
