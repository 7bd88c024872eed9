/// \file
/// NumPy's .npz archives (what `np.savez` and `np.savez_compressed` write and `np.load` reads): a
/// ZIP file of .npy members, read with every structure checked, and written atomically.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/data/npy.hpp>
#include <tapegrad/data/safetensors.hpp>

namespace tapegrad::data {

namespace detail {
class MappedFile;
}  // namespace detail

/// One member of an .npz archive, as its central directory declares it.
struct NpzEntry {
    std::string key;                      ///< the name np.load gives it: the member's name without ".npy"
    std::string member;                   ///< the member's file name in the archive, e.g. "weight.npy"
    std::uint16_t method = 0;             ///< 0 stored, 8 deflated
    std::uint32_t crc32 = 0;              ///< the CRC-32 of its uncompressed bytes
    std::uint64_t compressed_size = 0;    ///< bytes in the archive
    std::uint64_t uncompressed_size = 0;  ///< bytes of the .npy file
    std::uint64_t data_offset = 0;        ///< where its (compressed) bytes start in the archive
};

/// An .npz archive opened for reading: the file is memory-mapped (read-only) and its ZIP structure
/// read and checked completely by the constructor; members are decompressed and converted on demand
/// by load().
///
/// Checked, each failure an IoError naming the file and, where there is one, the member: the end of
/// central directory record is found (at most 65535 bytes of comment after it) and its comment ends
/// the file; a single-disk archive; the ZIP64 end record (through its locator, which must directly
/// precede the end record) when the archive needs it; the central directory lies in the file before
/// the end record and holds exactly the declared number of entries, each whole; each entry's ZIP64
/// extra field holds every size or offset its 32-bit field marks 0xFFFFFFFF; no entry is encrypted
/// (flag bit 0 or 6), each uses method 0 (stored, sizes equal) or 8 (deflate); its local header
/// is in the file, names the same member, and its data ends before the central directory; a
/// deflated member declares at most 1032 times its compressed size (deflate's limit), so that a
/// lying size cannot make load() allocate more than the data could hold; no two members give the
/// same key. load() then checks that deflate ends exactly at the compressed size with exactly the
/// declared bytes and that the CRC-32 matches before parsing the .npy (data::parse_npy(),
/// NpyDtypes::convert).
///
/// Where tapegrad differs from NumPy: np.load returns a member not named "*.npy" as raw bytes;
/// load() refuses it (IoError). Archives split over several disks, encrypted members and methods
/// other than stored and deflate are refused (np.load refuses them too, through Python's zipfile).
/// Not thread-safe to construct, safe to load() from several threads.
class NpzFile {
public:
    /// Opens, maps and checks `path`; IoError naming the file and the rule broken.
    explicit NpzFile(const std::string& path);

    /// The file's path, as given.
    const std::string& path() const noexcept { return path_; }
    /// The members, in the order of the central directory (the order np.savez wrote them).
    const std::vector<NpzEntry>& entries() const noexcept { return entries_; }
    /// Whether the archive holds the key `key` ("w" for the member "w.npy").
    bool contains(const std::string& key) const;
    /// The entry of `key`; ValueError naming the file and the key when there is none.
    const NpzEntry& entry(const std::string& key) const;

    /// The array of `key` as a new leaf of T (float or double): decompressed, CRC-checked, parsed as
    /// a .npy file of any version and memory order, and converted from its dtype as
    /// NpyDtypes::convert describes (ValueError for an integer T cannot hold exactly). Every error
    /// names the file and the member.
    template <class T>
    Tensor<T> load(const std::string& key) const;

private:
    std::string path_;
    std::shared_ptr<const detail::MappedFile> file_;  // the archive, mapped read-only
    std::vector<NpzEntry> entries_;

    void parse();
};

/// Every array of the .npz file `path`, converted to T as NpzFile::load() does, in the order of the
/// archive, under the keys np.load gives them. Throws as NpzFile and load() do.
template <class T>
NamedTensors<T> read_npz(const std::string& path);

/// Writes `tensors` to `path` as an .npz archive that np.load reads: one member "<name>.npy" per
/// tensor, in the order given, each a .npy file as write_npy() writes it (`<f4` for float, `<f8`
/// for double: unlike NumPy, only these dtypes), stored, or deflated (zlib, default level) when
/// `compressed` (np.savez_compressed). ZIP64 records are written where a size or offset reaches
/// 0xFFFFFFFF (or more than 65534 members), as Python's zipfile does. Members carry the date
/// 1980-01-01 00:00 (the earliest ZIP date) rather than the time of writing, so that the same
/// tensors give the same bytes. Atomic as write_safetensors(). ValueError, writing nothing, for an
/// empty name, a name given twice or an undefined tensor; IoError naming the file when writing
/// fails.
template <class T>
void write_npz(const std::string& path, const NamedTensors<T>& tensors, bool compressed = false);

namespace detail {
/// write_npz() with the size at which ZIP64 records start as a parameter (0xFFFFFFFF in
/// write_npz()): tests force the ZIP64 records with a small limit instead of writing 4 GiB.
template <class T>
void write_npz(const std::string& path, const NamedTensors<T>& tensors, bool compressed, std::uint64_t zip64_limit);
}  // namespace detail

}  // namespace tapegrad::data
