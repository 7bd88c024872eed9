// Command-line options of the Fashion-MNIST example.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

namespace fashion {

/// The defaults are the MLP's; --model cnn changes those of the flags not given (see kCnnDefaults
/// in options.cpp).
struct Options {
    std::string model = "mlp";  // "mlp" or "cnn" (model.hpp)
    std::size_t epochs = 20;
    std::size_t batch_size = 128;
    double lr = 1e-3;                 // Adam's lr; OneCycleLR's peak lr
    double weight_decay = 0;          // Adam's L2 term
    std::string schedule = "cosine";  // "cosine" (down to 0 at the last epoch), "onecycle" (per step) or "none"
    std::uint64_t seed = 0;
    int threads = 0;  // OpenBLAS threads; 0 leaves OpenBLAS's default (one per core)
    std::string data = "/usr/share/datasets/fashion-mnist";
    std::string out = "out/fashion_mnist";
    std::size_t limit = 0;        // use only the first N training samples; 0 uses all 60000
    std::size_t test_limit = 0;   // evaluate on the first N test samples; 0 uses all 10000
    std::string resume;           // a checkpoint (folder or .safetensors file) to continue from; empty starts afresh
    std::string checkpoint;       // where the checkpoint goes; empty: <out>/checkpoint
    bool distributed = false;     // data-parallel over the ranks of an MPI job (ranks.hpp)
    std::set<std::string> given;  // the flags on the command line, e.g. "--epochs"
};

/// Where the run's checkpoint goes: --checkpoint, else the folder `checkpoint` in --out.
std::string checkpoint_path(const Options& options);

/// Parses argv; prints usage and exits 0 on --help, prints the problem and exits 2 on a bad flag
/// (--threads above this machine's hardware threads included).
Options parse_options(int argc, char** argv);

}  // namespace fashion
