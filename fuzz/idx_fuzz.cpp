// Fuzz target: read_idx on arbitrary bytes (plain or gzip). Only tapegrad::IoError may escape;
// a crash, a sanitizer report or any other exception is a bug.
#include <cstdint>

#include <tapegrad/data/idx.hpp>
#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::string path = fuzzing::scratch("idx");
    fuzzing::write_file(path, data, size);
    for (std::size_t ndims : {1, 3}) {
        try {
            const auto array = tapegrad::data::read_idx(path, ndims);
            std::size_t n = 1;
            for (auto d : array.shape) n *= d;
            if (n != array.data.size()) __builtin_trap();  // the shape must describe the data
        } catch (const tapegrad::IoError&) {
        }
    }
    return 0;
}
