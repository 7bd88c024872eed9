/// \file
/// NumPy's .npy format (version 1.0), as checkpoints store tensors: numpy.load reads these files.
#pragma once

#include <string>

#include <xtensor/xarray.hpp>

#include <tapegrad/autograd/errors.hpp>

namespace tapegrad::data {

/// "<f4" for float, "<f8" for double: NumPy's little-endian dtype strings.
template <class T>
constexpr const char* npy_descr() {
    return sizeof(T) == 4 ? "<f4" : "<f8";
}

/// What a .npy header declares.
struct NpyHeader {
    std::string descr;  ///< e.g. `<f4`
    /// True for column-major data (read_npy refuses it).
    bool fortran_order = false;
    /// The array's dimensions; [] for a 0-d array.
    Shape shape;
    std::size_t data_offset = 0;  ///< bytes before the data
    std::size_t file_size = 0;    ///< bytes in the whole file
};

/// Writes `array` as a .npy file: the magic `\x93NUMPY`, version 1.0, a little-endian uint16 header
/// length, the header dict {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
/// spaces and a newline to a multiple of 64 bytes, then the data row-major. With `sync` the file is
/// flushed to disk (fsync) before returning. Throws IoError when the file cannot be written.
template <class T>
void write_npy(const std::string& path, const xt::xarray<T>& array, bool sync = false);

/// Reads and checks a .npy header: IoError naming the file for a foreign file (no magic), an
/// unknown version, or a header that is cut short or that we cannot parse.
NpyHeader read_npy_header(const std::string& path);

/// Reads a .npy file holding T (descr "<f4" for float, "<f8" for double, C order). Throws IoError
/// naming the file when it is foreign, holds another dtype or Fortran order, or its data is
/// truncated or followed by extra bytes.
template <class T>
xt::xarray<T> read_npy(const std::string& path);

}  // namespace tapegrad::data
