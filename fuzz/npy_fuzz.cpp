// Fuzz target: read_npy (float and double, as checkpoints read it: exact dtype) from a file, and
// parse_npy from the bytes directly with every dtype converted (versions 1.0 to 3.0, any header
// spelling, Fortran order). Only tapegrad::IoError (a malformed file) and ValueError (an integer
// not exactly a float) may escape.
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
    for (const bool as_float : {true, false}) {
        try {
            const std::size_t n =
                as_float
                    ? tapegrad::data::parse_npy<float>(data, size, "fuzz", tapegrad::data::NpyDtypes::convert).size()
                    : tapegrad::data::parse_npy<double>(data, size, "fuzz", tapegrad::data::NpyDtypes::convert).size();
            if (n > size) __builtin_trap();  // every element is at least one byte of the input
        } catch (const tapegrad::IoError&) {
        } catch (const tapegrad::ValueError&) {
        }
    }
    return 0;
}
