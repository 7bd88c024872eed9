/// \file
/// NumPy's .npy format: versions 1.0, 2.0 and 3.0 read (from a file or from bytes, e.g. a member of
/// an .npz archive), with dtype conversion and Fortran order; written as NumPy writes it.
#pragma once

#include <cstddef>
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
    std::string descr;  ///< the dtype as written, e.g. `<f4`
    /// True for column-major data (the readers transpose it into row-major).
    bool fortran_order = false;
    /// The array's dimensions; [] for a 0-d array.
    Shape shape;
    std::size_t data_offset = 0;  ///< bytes before the data
    std::size_t file_size = 0;    ///< bytes in the whole file (or buffer)
};

/// Which stored dtypes a .npy reader accepts.
enum class NpyDtypes {
    /// Only T's own dtype, little-endian (`<f4` / `=f4` for float, `<f8` / `=f8` for double): what
    /// checkpoints need, where a file of another dtype means a foreign or mixed-up file.
    exact,
    /// Any numeric dtype NumPy writes, converted to T as data::SafetensorsFile::load() converts:
    /// `f2 f4 f8` (f8 rounded to nearest for float), `i1 i2 i4 i8 u1 u2 u4 u8` (ValueError when a
    /// value is not exactly a T: magnitude above 2^24 for float, 2^53 for double) and `b1` (a byte
    /// other than 0 or 1 is an IoError), each little-endian (`<`), big-endian (`>`, byte-swapped),
    /// native (`=`) or, for one-byte types, `|`. Refused with IoError: complex (`c`), object (`O`),
    /// strings (`U`, `S`, `a`), void and structured dtypes (`V`, a list of fields), dates (`M`,
    /// `m`), float128 and subarray dtypes.
    convert
};

/// Writes `array` as a .npy file: the magic `\x93NUMPY`, version 1.0 with a little-endian uint16
/// header length (version 2.0 with a uint32 when the header needs more than 65535 bytes, as NumPy
/// does), the header dict {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
/// spaces and a newline so that the data starts at a multiple of 64 bytes, then the data row-major.
/// Unlike NumPy, which writes any dtype, tapegrad writes only `<f4` and `<f8`. With `sync` the file
/// is flushed to disk (fsync) before returning. Throws IoError when the file cannot be written.
template <class T>
void write_npy(const std::string& path, const xt::xarray<T>& array, bool sync = false);

/// The header of a .npy file for T's dtype and `shape` as write_npy() writes it: magic, version,
/// length and the padded dict (the data follows it).
template <class T>
std::string npy_header_bytes(const Shape& shape);

/// Parses and checks the header of the .npy bytes [bytes, bytes + size); every error is an IoError
/// starting with `source` (e.g. "npy file 'x.npy'"). Checked: the magic; a version 1.0, 2.0 or 3.0
/// (the header length a uint16 in 1.0, a uint32 after); the header within the bytes; and the header
/// a Python dict literal, as NumPy's `ast.literal_eval` reads it: keys in any order, single or
/// double quotes, spaces anywhere between tokens, a trailing comma or not, exactly the keys
/// 'descr' (a string; a list, i.e. a structured dtype, is refused), 'fortran_order' (True or False)
/// and 'shape' (a tuple of non-negative integers: `()`, `(5,)`, `(2, 3)`; Python 2's `3L` accepted
/// as NumPy does), none of them twice (Python would keep the last silently), nothing after the
/// closing brace but spaces and the newline. The header of a version 1.0 or 2.0 file is latin-1
/// and holds no byte above 127 here (none of the valid headers does), 3.0's is UTF-8.
NpyHeader parse_npy_header(const unsigned char* bytes, std::size_t size, const std::string& source);

/// The array in the .npy bytes [bytes, bytes + size), as T: the header checked as
/// parse_npy_header() does, the dtype as `dtypes` allows, the data exactly the size the shape and
/// dtype give (element count and byte count checked for overflow; missing or extra bytes are an
/// IoError), Fortran-order data transposed into row-major. Errors start with `source`.
template <class T>
xt::xarray<T> parse_npy(const unsigned char* bytes, std::size_t size, const std::string& source,
                        NpyDtypes dtypes = NpyDtypes::exact);

/// Reads and checks the header of the .npy file `path` as parse_npy_header() does (errors name the
/// file: "npy file '<path>': ...").
NpyHeader read_npy_header(const std::string& path);

/// Reads the .npy file `path` as parse_npy() does (any version, key order or memory order); with
/// the default NpyDtypes::exact only T's own dtype is accepted, NpyDtypes::convert converts the
/// other numeric dtypes. Throws IoError naming the file when it is foreign, cut, extended or holds
/// a refused dtype, ValueError when an integer is not exactly a T.
template <class T>
xt::xarray<T> read_npy(const std::string& path, NpyDtypes dtypes = NpyDtypes::exact);

}  // namespace tapegrad::data
