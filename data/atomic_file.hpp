// Atomic replacement of one file: the data reaches the disk in full or the old file stays. Internal
// to data/*.cpp (safetensors.cpp, npz.cpp).
#pragma once

#include <cstdio>
#include <functional>
#include <string>

namespace tapegrad::data::detail {

/// Writes `path` through `write` (given the open file; it returns false when a write failed) into a
/// temporary sibling ".<name>.tmp-<pid>-<n>" (the next n when that name is taken), fsyncs it, renames it over `path`
/// and fsyncs the folder. The temporary file is removed when anything fails or `write` throws. IoError naming `what`
/// (e.g. "safetensors"), the file and the reason.
void write_atomically(const std::string& path, const char* what, const std::function<bool(std::FILE*)>& write);

}  // namespace tapegrad::data::detail
