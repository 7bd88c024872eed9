// What bench/distributed_bench.cpp (tapegrad, DataParallel over MPI) and
// bench/libtorch_distributed_bench.cpp (LibTorch, c10d's Gloo) share: their flags, the overlap
// measure and the one line rank 0 prints, which scripts/bench.sh stores and bench/report.py reads.
// Standard C++ only, so that both programs include it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace distbench {

/// The flags; each program accepts a subset of them (see parse).
struct Options {
    int batch = 128;            ///< per rank (PyTorch DDP's convention: the batch is per process)
    int steps = 300;            ///< timed steps
    int warmup = 20;            ///< untimed steps before them
    int threads = 1;            ///< the framework's intra-op threads per rank
    double bucket_cap_mb = 25;  ///< tapegrad's DataParallel bucket cap (PyTorch's default)
    std::string store;          ///< LibTorch: the FileStore's path, the same on every rank
    /// tapegrad: the hidden layers' widths, e.g. {1024, 1024, 1024} for a model whose gradient
    /// bytes are spread over more layers than the MLP's (which keeps 85% of them in its first).
    std::vector<std::size_t> hidden = {256, 128};
};

/// "784-256-128-10": the MLP's widths, input to output.
inline std::string model_name(const Options& o) {
    std::string name = "784";
    for (const std::size_t h : o.hidden) name += "-" + std::to_string(h);
    return name + "-10";
}

/// Parses `--flag value` pairs, accepting only the flags in `accepted` (std::invalid_argument otherwise).
inline Options parse(int argc, char** argv, const std::set<std::string>& accepted) {
    Options o;
    for (int i = 1; i < argc; i += 2) {
        const std::string flag = argv[i];
        if (!accepted.count(flag)) throw std::invalid_argument("unknown flag: " + flag);
        if (i + 1 >= argc) throw std::invalid_argument("flag without a value: " + flag);
        const std::string value = argv[i + 1];
        if (flag == "--batch")
            o.batch = std::stoi(value);
        else if (flag == "--steps")
            o.steps = std::stoi(value);
        else if (flag == "--warmup")
            o.warmup = std::stoi(value);
        else if (flag == "--threads")
            o.threads = std::stoi(value);
        else if (flag == "--bucket-cap-mb")
            o.bucket_cap_mb = std::stod(value);
        else if (flag == "--store")
            o.store = value;
        else if (flag == "--hidden") {  // comma-separated widths
            o.hidden.clear();
            for (std::size_t at = 0; at <= value.size();) {
                const std::size_t comma = std::min(value.find(',', at), value.size());
                o.hidden.push_back(std::stoul(value.substr(at, comma - at)));
                at = comma + 1;
            }
        }
    }
    if (o.batch <= 0 || o.steps <= 0 || o.warmup < 0 || o.threads <= 0 || !(o.bucket_cap_mb > 0))
        throw std::invalid_argument("--batch, --steps, --threads and --bucket-cap-mb must be positive, --warmup >= 0");
    return o;
}

/// The share of allreduce time hidden behind backward, averaged over the timed steps. For one step:
///   span    = from the first bucket's allreduce being started to the last one being done,
///   exposed = the part of the span the backward pass spent waiting for it (after its last gradient),
///   hidden  = 1 - exposed / span (0 when span is 0),
/// i.e. the fraction of the time communication was in flight during which the backward pass was
/// still computing. With one bucket the allreduce starts after the last gradient, so hidden is 0.
struct Overlap {
    double exposed = 0, span = 0, hidden = 0;
    int steps = 0;
    void add(double exposed_seconds, double span_seconds) {
        exposed += exposed_seconds;
        span += span_seconds;
        hidden += span_seconds > 0 ? 1 - exposed_seconds / span_seconds : 0;
        ++steps;
    }
};

/// Rank 0's line: key=value pairs after the word "distributed_bench" (bucket_cap_mb 0: no buckets,
/// one allreduce per parameter after backward). hidden is "na" in a world of one, where nothing is
/// communicated (the span is then only the time to start the no-op allreduces).
inline void print_line(const std::string& program, int ranks, const Options& o, double bucket_cap_mb,
                       const std::vector<std::size_t>& bucket_bytes, double seconds, const Overlap& overlap) {
    std::string bytes;
    for (const std::size_t b : bucket_bytes) bytes += (bytes.empty() ? "" : ",") + std::to_string(b);
    const double n = overlap.steps > 0 ? overlap.steps : 1;
    char hidden[32] = "na";
    if (ranks > 1) std::snprintf(hidden, sizeof hidden, "%.4f", overlap.hidden / n);
    std::printf(
        "distributed_bench program=%s model=%s ranks=%d batch=%d threads=%d bucket_cap_mb=%g buckets=%zu "
        "bucket_bytes=%s "
        "steps=%d samples_per_s=%.1f step_ms=%.4f exposed_ms=%.4f span_ms=%.4f hidden=%s\n",
        program.c_str(), model_name(o).c_str(), ranks, o.batch, o.threads, bucket_cap_mb, bucket_bytes.size(),
        bytes.c_str(), o.steps, double(ranks) * o.batch * o.steps / seconds, 1e3 * seconds / o.steps,
        1e3 * overlap.exposed / n, 1e3 * overlap.span / n, hidden);
    std::fflush(stdout);
}

}  // namespace distbench
