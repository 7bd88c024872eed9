/// \file
/// The safetensors format (Hugging Face's; what PyTorch users exchange weights in): reading, with
/// every rule of the format checked, and atomic writing.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <tapegrad/autograd/errors.hpp>
#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad::data {

/// The `__metadata__` of a safetensors file: free-form string -> string pairs (the Python library
/// writes {"format": "pt"}).
using SafetensorsMetadata = std::map<std::string, std::string>;

/// Named tensors in a chosen order: what write_safetensors() takes and read_safetensors() returns
/// (nn::StateDict::entries() is one).
template <class T>
using NamedTensors = std::vector<std::pair<std::string, Tensor<T>>>;

/// One tensor as the header of a safetensors file declares it.
struct SafetensorsEntry {
    std::string name;       ///< its key, e.g. "0.weight"
    std::string dtype;      ///< "F32", "F64", "F16", "BF16", "I64", "I32", "BOOL", ...
    Shape shape;            ///< its dimensions; [] for a 0-d tensor
    std::size_t begin = 0;  ///< first byte, counted from the start of the data (after the header)
    std::size_t end = 0;    ///< one past its last byte
};

/// A safetensors file opened for reading: the file is memory-mapped (POSIX mmap, read-only) and
/// its header read and checked completely by the constructor; tensors are converted on demand by
/// load(). The format: an unsigned 64-bit little-endian header length N, N bytes of a UTF-8 JSON
/// object {name: {"dtype": ..., "shape": [...], "data_offsets": [begin, end]}, "__metadata__":
/// {str: str}} (optionally padded with spaces), then the data, row-major and little-endian.
///
/// Checked, as the reference implementation (the Rust crate `safetensors`) does, each failure an
/// IoError naming the file and, where there is one, the tensor: the file holds the 8 bytes of the
/// length and the whole header; N is at most 100,000,000; the header is valid JSON (UTF-8) and an
/// object, with no key given twice at any level (a JSON parser would silently keep the last one);
/// `__metadata__`, when present, maps strings to strings; each tensor's entry is an object with a
/// known dtype string, a shape of non-negative integers and data_offsets of two non-negative
/// integers begin <= end; the shape's element count times the dtype's size equals end - begin
/// (without overflow); and the tensors, taken in the order of their offsets, cover the data exactly:
/// the first begins at 0, each begins where the previous ends (no overlap, no hole) and the last
/// ends at the end of the file. Other fields of an entry are ignored (as the reference does).
///
/// Not thread-safe to construct, safe to load() from several threads. A file truncated by another
/// process while it is mapped makes a read of the lost pages fail with SIGBUS (mmap's nature).
class SafetensorsFile {
public:
    /// Opens, maps and checks `path`; IoError naming the file and the rule broken.
    explicit SafetensorsFile(const std::string& path);
    ~SafetensorsFile();
    SafetensorsFile(const SafetensorsFile&) = delete;
    SafetensorsFile& operator=(const SafetensorsFile&) = delete;

    /// The file's path, as given.
    const std::string& path() const noexcept { return path_; }
    /// The tensors, in the order of their data in the file.
    const std::vector<SafetensorsEntry>& entries() const noexcept { return entries_; }
    /// The `__metadata__` pairs (empty when the file has none).
    const SafetensorsMetadata& metadata() const noexcept { return metadata_; }
    /// Whether the file holds a tensor named `name`.
    bool contains(const std::string& name) const;
    /// The entry of `name`; ValueError naming the file and the tensor when there is none.
    const SafetensorsEntry& entry(const std::string& name) const;

    /// The tensor `name` as a new leaf of T (float or double), converted from the stored dtype:
    /// F32, F64 (rounded to nearest when T is float), F16 and BF16 (exact), the integers I8, I16,
    /// I32, I64, U8, U16, U32, U64 (refused with ValueError when a value is not exactly representable
    /// in T: above 2^24 in magnitude for float, 2^53 for double, where a count or an index would
    /// silently change) and BOOL (false -> 0, true -> 1; a byte other than 0 or 1 is an IoError, as
    /// it is no bool). The 8-bit floats (F8_E5M2, F8_E4M3) are refused with ValueError. Every error
    /// names the file and the tensor.
    template <class T>
    Tensor<T> load(const std::string& name) const;

private:
    std::string path_;
    const unsigned char* map_ = nullptr;  // the whole file, mapped read-only
    std::size_t size_ = 0;
    std::size_t data_start_ = 0;  // 8 + N: where data offsets count from
    std::vector<SafetensorsEntry> entries_;
    SafetensorsMetadata metadata_;

    void parse_header();
};

/// Every tensor of the safetensors file `path`, converted to T as SafetensorsFile::load() does, in
/// the order of their data in the file. Throws as SafetensorsFile and load() do.
template <class T>
NamedTensors<T> read_safetensors(const std::string& path);

/// Writes `tensors` to `path` as a safetensors file that safetensors.torch.load_file reads: dtype
/// F32 for float, F64 for double; the header lists `__metadata__` first (when not empty), then the
/// tensors sorted by name, laid out in that order in the data, as the reference implementation
/// writes a file of one dtype, its JSON padded with spaces to a multiple of 8 bytes (so every
/// tensor's data is aligned). The write is atomic: the bytes go to a temporary sibling
/// `.<name>.tmp-<pid>-<n>`, are fsync'ed, and the file replaces `path` by rename (then the folder
/// is fsync'ed), so `path` holds the old file or the new one. ValueError, writing nothing, for an
/// empty name, the name `__metadata__`, a name given twice or an undefined tensor; IoError naming
/// the file when writing fails.
template <class T>
void write_safetensors(const std::string& path, const NamedTensors<T>& tensors,
                       const SafetensorsMetadata& metadata = {});

}  // namespace tapegrad::data
