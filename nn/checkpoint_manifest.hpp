// A checkpoint's manifest.txt: what the folder holds, one line per item. Internal to
// nn/checkpoint.cpp.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <tapegrad/autograd/errors.hpp>

namespace tapegrad::nn::detail {

struct ManifestEntry {
    std::string name;
    Shape shape;  // for an extra: {its size in bytes}
};

/// The lines of manifest.txt after the format line "tapegrad checkpoint v2" (v1, written before
/// schedules and extras existed, is read too):
///   dtype <float32|float64>
///   parameter <name> <shape>          e.g. "parameter 0.weight [256,784]"
///   optimizer <name> <lr>             the lr in full (optimizer/lr.npy rounds it to the dtype)
///   state <entry> <shape>
///   schedule <kind> <epoch> <base_lr>
///   extra <name> <bytes>
struct Manifest {
    std::string dtype;
    std::vector<ManifestEntry> parameters;
    std::string optimizer;     // empty: no optimiser state
    std::optional<double> lr;  // absent in v1
    std::vector<ManifestEntry> state;
    std::string schedule;  // empty: no schedule
    std::size_t schedule_epoch = 0;
    double base_lr = 0;
    std::vector<ManifestEntry> extras;
};

/// Writes and fsyncs `path`; throws IoError.
void write_manifest(const std::filesystem::path& path, const Manifest& manifest);

/// Reads dir/manifest.txt; throws IoError naming the file and the line for anything it cannot parse.
Manifest read_manifest(const std::string& dir);

}  // namespace tapegrad::nn::detail
