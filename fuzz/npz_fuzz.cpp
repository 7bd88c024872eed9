// Fuzz target: NpzFile (open, check the ZIP structure, load every member as float and double) on
// arbitrary bytes. Only tapegrad::IoError (a malformed archive or member) and ValueError (an
// integer not exactly a float) may escape.
#include <cstdint>

#include <tapegrad/data/npz.hpp>
#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::string path = fuzzing::scratch("npz");
    fuzzing::write_file(path, data, size);
    try {
        const tapegrad::data::NpzFile file(path);
        for (const auto& entry : file.entries()) {
            if (entry.data_offset + entry.compressed_size > size) __builtin_trap();  // never a member past the file
            try {
                const auto f = file.load<float>(entry.key);
                // A stored member holds each element in at least one byte; deflate expands at most 1032:1.
                if (f.numel() > 1032 * size) __builtin_trap();
                file.load<double>(entry.key);
            } catch (const tapegrad::ValueError&) {
            } catch (const tapegrad::IoError&) {
            }
        }
    } catch (const tapegrad::IoError&) {
    }
    return 0;
}
