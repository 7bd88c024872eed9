/// \file
/// The IDX file format of MNIST and Fashion-MNIST, plain or gzip-compressed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <tapegrad/autograd/errors.hpp>

namespace tapegrad::data {

/// The contents of an IDX file of unsigned bytes: its dimensions and its data, row-major.
struct IdxArray {
    /// The dimensions the header declares, e.g. [60000, 28, 28].
    Shape shape;
    /// prod(shape) bytes, row-major.
    std::vector<std::uint8_t> data;
};

/// Reads an IDX file of unsigned bytes (type code 0x08) with `ndims` dimensions. The file may be
/// gzip-compressed (recognised by its magic bytes 1f 8b) or plain. Layout (big-endian):
/// `00 00 08 <ndims>`, then ndims 32-bit sizes, then prod(sizes) bytes, nothing after.
/// Throws IoError naming the file and what is wrong: unreadable, corrupt gzip stream, bad magic,
/// another type code, another number of dimensions, a zero size, truncated data or trailing bytes.
IdxArray read_idx(const std::string& path, std::size_t ndims);

/// Images: N x rows x cols (magic 0x00000803).
inline IdxArray read_idx_images(const std::string& path) {
    return read_idx(path, 3);
}
/// Labels: N (magic 0x00000801).
inline IdxArray read_idx_labels(const std::string& path) {
    return read_idx(path, 1);
}

}  // namespace tapegrad::data
