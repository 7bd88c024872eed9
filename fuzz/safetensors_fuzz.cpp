// Fuzz target: SafetensorsFile (open, check, load every tensor as float and double) on arbitrary
// bytes. Only tapegrad::IoError (a malformed file) and ValueError (a conversion refused) may escape.
#include <cstdint>

#include <tapegrad/data/safetensors.hpp>
#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::string path = fuzzing::scratch("safetensors");
    fuzzing::write_file(path, data, size);
    try {
        const tapegrad::data::SafetensorsFile file(path);
        for (const auto& entry : file.entries()) {
            if (entry.end > size) __builtin_trap();  // never a tensor past the file
            try {
                const auto f = file.load<float>(entry.name);
                if (f.numel() > size) __builtin_trap();  // never more elements than bytes
                file.load<double>(entry.name);
            } catch (const tapegrad::ValueError&) {
            } catch (const tapegrad::IoError&) {
            }
        }
    } catch (const tapegrad::IoError&) {
    }
    return 0;
}
