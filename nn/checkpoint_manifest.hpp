// A checkpoint's manifest.txt: what the folder holds, one line per item. Internal to
// nn/checkpoint.cpp.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
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
///   buffer <name> <shape>             e.g. "buffer 1.running_mean [64]" (none before buffers existed)
///   optimizer <name> <lr> [<lr>...]   each group's lr in full (optimizer/lr.<g>.npy rounds it to
///                                     the dtype); v1 has no lr, older v2 one (one group)
///   state <entry> <shape>
///   schedule <kind>
///   schedule_state <name> <value>     one per LrScheduleState entry, the value in full (may be
///                                     negative or +-inf, e.g. ReduceLROnPlateau's best)
///   schedule <kind> <epoch> <base_lr> (read only: v2 before schedule_state lines, one group)
///   extra <name> <bytes>
/// A reader of an older tapegrad refuses a manifest with several lrs or schedule_state lines with
/// an IoError naming the line.
struct Manifest {
    std::string dtype;
    std::vector<ManifestEntry> parameters;
    std::vector<ManifestEntry> buffers;
    std::string optimizer;    // empty: no optimiser state
    std::vector<double> lrs;  // one per group; empty in v1
    std::vector<ManifestEntry> state;
    std::string schedule;  // empty: no schedule
    std::vector<std::pair<std::string, double>> schedule_state;
    std::vector<ManifestEntry> extras;
};

/// A finite non-negative number (an lr) written in full (fmt's shortest form reads back exactly);
/// IoError naming `where` otherwise.
double parse_number(const std::string& where, const std::string& text);
/// Any number but NaN (a schedule's state value): fmt writes infinities as "inf" and "-inf", which
/// this reads back; IoError naming `where` otherwise.
double parse_value(const std::string& where, const std::string& text);

/// Writes and fsyncs `path`; throws IoError.
void write_manifest(const std::filesystem::path& path, const Manifest& manifest);

/// Reads dir/manifest.txt; throws IoError naming the file and the line for anything it cannot parse.
Manifest read_manifest(const std::string& dir);

}  // namespace tapegrad::nn::detail
