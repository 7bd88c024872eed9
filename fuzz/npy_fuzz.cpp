// Fuzz target: read_npy (float and double) on arbitrary bytes. Only tapegrad::IoError may escape.
#include <cstdint>

#include <tapegrad/data/npy.hpp>
#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::string path = fuzzing::scratch("npy");
    fuzzing::write_file(path, data, size);
    try {
        const auto a = tapegrad::data::read_npy<float>(path);
        if (a.size() * sizeof(float) > size) __builtin_trap();  // never more data than bytes
    } catch (const tapegrad::IoError&) {
    }
    try {
        tapegrad::data::read_npy<double>(path);
    } catch (const tapegrad::IoError&) {
    }
    return 0;
}
