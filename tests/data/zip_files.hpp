// Test helper: ZIP archives (.npz) built byte by byte from APPNOTE.TXT's layout, so the npz reader
// is checked against the format rather than against tapegrad's own writer.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <zlib.h>

namespace testing {

using ZipBytes = std::vector<std::uint8_t>;

/// One member of a hand-built archive.
struct ZipMember {
    std::string name;
    ZipBytes content;      ///< the member's uncompressed bytes
    bool deflate = false;  ///< method 8 (raw deflate), else 0 (stored)
    bool zip64 = false;    ///< sizes and offset all ones, their values in ZIP64 extra fields
};

/// A hand-built archive and where its records start.
struct Zip {
    ZipBytes bytes;
    std::vector<std::size_t> local;    ///< each member's local header
    std::vector<std::size_t> data;     ///< each member's (compressed) bytes
    std::vector<std::size_t> central;  ///< each member's central directory entry
    std::size_t end = 0;               ///< the end of central directory record
};

template <class U>
void put_le(ZipBytes& out, U v) {
    for (std::size_t i = 0; i < sizeof(U); ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

/// `bytes` as a raw deflate stream (no zlib header), as ZIP's method 8 stores it.
inline ZipBytes raw_deflate(const ZipBytes& bytes) {
    z_stream z{};
    deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    ZipBytes out(deflateBound(&z, bytes.size()) + 16);
    z.next_in = const_cast<Bytef*>(bytes.data());
    z.avail_in = static_cast<uInt>(bytes.size());
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

/// The archive of `members`; with `zip64_end`, a ZIP64 end record and locator before the end record
/// (whose sizes, offset and counts are then all ones).
inline Zip zip_of(const std::vector<ZipMember>& members, bool zip64_end = false) {
    Zip zip;
    ZipBytes& out = zip.bytes;
    std::vector<std::uint32_t> crcs;
    std::vector<ZipBytes> stored;
    for (const auto& m : members) {
        const std::uint32_t crc =
            static_cast<std::uint32_t>(crc32(0, m.content.data(), static_cast<uInt>(m.content.size())));
        crcs.push_back(crc);
        stored.push_back(m.deflate ? raw_deflate(m.content) : m.content);
        zip.local.push_back(out.size());
        put_le<std::uint32_t>(out, 0x04034b50);
        put_le<std::uint16_t>(out, m.zip64 ? 45 : 20);
        put_le<std::uint16_t>(out, 0);
        put_le<std::uint16_t>(out, m.deflate ? 8 : 0);
        put_le<std::uint32_t>(out, 0);  // time and date
        put_le<std::uint32_t>(out, crc);
        put_le<std::uint32_t>(out, m.zip64 ? 0xffffffff : static_cast<std::uint32_t>(stored.back().size()));
        put_le<std::uint32_t>(out, m.zip64 ? 0xffffffff : static_cast<std::uint32_t>(m.content.size()));
        put_le<std::uint16_t>(out, static_cast<std::uint16_t>(m.name.size()));
        put_le<std::uint16_t>(out, m.zip64 ? 20 : 0);
        out.insert(out.end(), m.name.begin(), m.name.end());
        if (m.zip64) {
            put_le<std::uint16_t>(out, 1);
            put_le<std::uint16_t>(out, 16);
            put_le<std::uint64_t>(out, m.content.size());
            put_le<std::uint64_t>(out, stored.back().size());
        }
        zip.data.push_back(out.size());
        out.insert(out.end(), stored.back().begin(), stored.back().end());
    }
    const std::size_t directory = out.size();
    for (std::size_t i = 0; i < members.size(); ++i) {
        const auto& m = members[i];
        zip.central.push_back(out.size());
        put_le<std::uint32_t>(out, 0x02014b50);
        put_le<std::uint16_t>(out, m.zip64 ? 45 : 20);
        put_le<std::uint16_t>(out, m.zip64 ? 45 : 20);
        put_le<std::uint16_t>(out, 0);
        put_le<std::uint16_t>(out, m.deflate ? 8 : 0);
        put_le<std::uint32_t>(out, 0);
        put_le<std::uint32_t>(out, crcs[i]);
        put_le<std::uint32_t>(out, m.zip64 ? 0xffffffff : static_cast<std::uint32_t>(stored[i].size()));
        put_le<std::uint32_t>(out, m.zip64 ? 0xffffffff : static_cast<std::uint32_t>(m.content.size()));
        put_le<std::uint16_t>(out, static_cast<std::uint16_t>(m.name.size()));
        put_le<std::uint16_t>(out, m.zip64 ? 28 : 0);
        put_le<std::uint16_t>(out, 0);  // comment
        put_le<std::uint16_t>(out, 0);  // disk
        put_le<std::uint16_t>(out, 0);
        put_le<std::uint32_t>(out, 0);
        put_le<std::uint32_t>(out, m.zip64 ? 0xffffffff : static_cast<std::uint32_t>(zip.local[i]));
        out.insert(out.end(), m.name.begin(), m.name.end());
        if (m.zip64) {
            put_le<std::uint16_t>(out, 1);
            put_le<std::uint16_t>(out, 24);
            put_le<std::uint64_t>(out, m.content.size());
            put_le<std::uint64_t>(out, stored[i].size());
            put_le<std::uint64_t>(out, zip.local[i]);
        }
    }
    const std::size_t directory_size = out.size() - directory;
    const std::uint64_t count = members.size();
    if (zip64_end) {
        const std::size_t record = out.size();
        put_le<std::uint32_t>(out, 0x06064b50);
        put_le<std::uint64_t>(out, 44);
        put_le<std::uint16_t>(out, 45);
        put_le<std::uint16_t>(out, 45);
        put_le<std::uint32_t>(out, 0);
        put_le<std::uint32_t>(out, 0);
        put_le<std::uint64_t>(out, count);
        put_le<std::uint64_t>(out, count);
        put_le<std::uint64_t>(out, directory_size);
        put_le<std::uint64_t>(out, directory);
        put_le<std::uint32_t>(out, 0x07064b50);
        put_le<std::uint32_t>(out, 0);
        put_le<std::uint64_t>(out, record);
        put_le<std::uint32_t>(out, 1);
    }
    zip.end = out.size();
    put_le<std::uint32_t>(out, 0x06054b50);
    put_le<std::uint32_t>(out, 0);  // disks
    put_le<std::uint16_t>(out, zip64_end ? 0xffff : static_cast<std::uint16_t>(count));
    put_le<std::uint16_t>(out, zip64_end ? 0xffff : static_cast<std::uint16_t>(count));
    put_le<std::uint32_t>(out, zip64_end ? 0xffffffff : static_cast<std::uint32_t>(directory_size));
    put_le<std::uint32_t>(out, zip64_end ? 0xffffffff : static_cast<std::uint32_t>(directory));
    put_le<std::uint16_t>(out, 0);
    return zip;
}

/// A .npy file (version 1.0) of `dict` and `payload`, padded as NumPy pads it.
inline ZipBytes npy_of(const std::string& dict, const ZipBytes& payload) {
    std::string header = dict;
    header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
    header.push_back('\n');
    const std::size_t length = header.size();
    ZipBytes out = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
    out.push_back(static_cast<std::uint8_t>(length & 0xff));
    out.push_back(static_cast<std::uint8_t>(length >> 8));
    for (char c : header) out.push_back(static_cast<std::uint8_t>(c));
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

/// The little-endian bytes of `values`.
template <class S>
ZipBytes le_bytes(const std::vector<S>& values) {
    ZipBytes out(values.size() * sizeof(S));
    if (!values.empty()) std::memcpy(out.data(), values.data(), out.size());
    return out;
}

}  // namespace testing
