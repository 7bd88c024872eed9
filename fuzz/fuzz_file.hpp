// Shared by the fuzz targets: the readers take paths, so each input is written to a scratch file.
#pragma once

#include <unistd.h>
#include <cstdint>
#include <cstdio>
#include <string>

namespace fuzzing {

/// A per-process scratch path (in /dev/shm when present: no disk traffic at fuzzing speed).
inline std::string scratch(const char* name) {
    const char* dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    return std::string(dir) + "/tapegrad-fuzz-" + std::to_string(getpid()) + "-" + name;
}

inline void write_file(const std::string& path, const std::uint8_t* data, std::size_t size) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return;
    if (size > 0) std::fwrite(data, 1, size, f);
    std::fclose(f);
}

}  // namespace fuzzing
