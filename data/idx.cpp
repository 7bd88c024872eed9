#include <tapegrad/data/idx.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

#include <zlib.h>

namespace tapegrad::data {
namespace {

constexpr std::uint8_t kUnsignedByte = 0x08;
// Larger headers are corrupt, not data: Fashion-MNIST's training images are 47 MB.
constexpr std::size_t kMaxBytes = std::size_t{1} << 34;

const char* type_name(std::uint8_t code) {
    switch (code) {
        case 0x08:
            return "unsigned byte";
        case 0x09:
            return "signed byte";
        case 0x0B:
            return "16-bit integer";
        case 0x0C:
            return "32-bit integer";
        case 0x0D:
            return "float";
        case 0x0E:
            return "double";
        default:
            return "not an IDX type";
    }
}

bool has_gzip_magic(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) fail<IoError>("IDX file '{}': cannot open: {}", path, std::strerror(errno));
    unsigned char magic[2] = {0, 0};
    const std::size_t n = std::fread(magic, 1, 2, f);
    std::fclose(f);
    return n == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

/// Reads a plain or gzip file through zlib (which passes plain files through unchanged).
class ByteReader {
public:
    ByteReader(const std::string& path, bool gzip) : path_(path), gzip_(gzip), file_(gzopen(path.c_str(), "rb")) {
        if (!file_) fail<IoError>("IDX file '{}': cannot open: {}", path, std::strerror(errno));
        gzbuffer(file_, 1 << 17);
    }
    ~ByteReader() { gzclose(file_); }
    ByteReader(const ByteReader&) = delete;
    ByteReader& operator=(const ByteReader&) = delete;

    /// Reads up to n bytes; fewer only at the end of the data. A corrupt or cut gzip stream throws.
    std::size_t read(void* buffer, std::size_t n) {
        std::size_t done = 0;
        while (done < n) {
            const auto chunk = static_cast<unsigned>(std::min<std::size_t>(n - done, 1u << 30));
            const int got = gzread(file_, static_cast<char*>(buffer) + done, chunk);
            if (got < 0 || (got < static_cast<int>(chunk) && stream_error())) throw_stream_error();
            done += static_cast<std::size_t>(got);
            if (got < static_cast<int>(chunk)) break;
        }
        return done;
    }

    const char* kind() const { return gzip_ ? "decompressed data" : "file"; }

private:
    std::string path_;
    bool gzip_;
    gzFile file_;

    bool stream_error() const {
        int code = Z_OK;
        gzerror(file_, &code);
        return code != Z_OK;
    }
    [[noreturn]] void throw_stream_error() const {
        int code = Z_OK;
        const char* message = gzerror(file_, &code);
        if (code == Z_BUF_ERROR) fail<IoError>("IDX file '{}': gzip stream is cut short (truncated .gz file)", path_);
        fail<IoError>("IDX file '{}': cannot decompress: {}", path_, message ? message : "zlib error");
    }
};

std::uint32_t big_endian(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

/// The four magic bytes: 0, 0, type code, number of dimensions.
void check_magic(const std::string& path, const std::uint8_t* magic, std::size_t ndims) {
    const std::uint32_t found = big_endian(magic);
    const std::uint32_t expected = (std::uint32_t{kUnsignedByte} << 8) | static_cast<std::uint32_t>(ndims);
    if (magic[0] != 0 || magic[1] != 0)
        fail<IoError>("IDX file '{}': bad magic number 0x{:08x} (expected 0x{:08x}); not an IDX file", path, found,
                      expected);
    if (magic[2] != kUnsignedByte)
        fail<IoError>("IDX file '{}': type code 0x{:02x} ({}); only 0x08 (unsigned byte) is supported", path, magic[2],
                      type_name(magic[2]));
    if (magic[3] != ndims)
        fail<IoError>("IDX file '{}': {} dimensions (magic 0x{:08x}), expected {} (magic 0x{:08x})", path, magic[3],
                      found, ndims, expected);
}

Shape read_shape(ByteReader& reader, const std::string& path, std::size_t ndims) {
    std::vector<std::uint8_t> raw(4 * ndims);
    const std::size_t got = reader.read(raw.data(), raw.size());
    if (got < raw.size())
        fail<IoError>("IDX file '{}': truncated header: {} of the {} bytes of dimension sizes", path, got, raw.size());
    Shape shape(ndims);
    std::size_t total = 1;
    for (std::size_t d = 0; d < ndims; ++d) {
        shape[d] = big_endian(&raw[4 * d]);
        if (shape[d] == 0)
            fail<IoError>("IDX file '{}': dimension {} has size 0 (shape {})", path, d, shape_str(shape));
        if (shape[d] > kMaxBytes / total)
            fail<IoError>("IDX file '{}': dimension sizes {} describe more than {} bytes; the header is corrupt", path,
                          shape_str(Shape(shape.begin(), shape.begin() + d + 1)), kMaxBytes);
        total *= shape[d];
    }
    return shape;
}

}  // namespace

IdxArray read_idx(const std::string& path, std::size_t ndims) {
    if (ndims == 0 || ndims > 255) fail<ValueError>("read_idx: ndims is {}; it must be in [1, 255]", ndims);
    ByteReader reader(path, has_gzip_magic(path));
    std::array<std::uint8_t, 4> magic{};
    const std::size_t got = reader.read(magic.data(), magic.size());
    if (got < magic.size())
        fail<IoError>("IDX file '{}': truncated: {} holds {} bytes, fewer than the 4-byte magic number", path,
                      reader.kind(), got);
    check_magic(path, magic.data(), ndims);

    IdxArray array;
    array.shape = read_shape(reader, path, ndims);
    const std::size_t expected = numel("read_idx", array.shape);
    // Grow as data arrives, so a corrupt header cannot make us allocate what the file lacks.
    std::size_t have = 0;
    while (have < expected) {
        const std::size_t chunk = std::min<std::size_t>(expected - have, std::size_t{1} << 24);
        array.data.resize(have + chunk);
        const std::size_t n = reader.read(array.data.data() + have, chunk);
        have += n;
        if (n < chunk) break;
    }
    if (have < expected)
        fail<IoError>("IDX file '{}': truncated: shape {} needs {} data bytes, the {} has only {}", path,
                      shape_str(array.shape), expected, reader.kind(), have);

    std::array<std::uint8_t, 4096> rest{};
    std::size_t trailing = 0;
    for (std::size_t n; (n = reader.read(rest.data(), rest.size())) > 0;) trailing += n;
    if (trailing > 0)
        fail<IoError>("IDX file '{}': {} trailing bytes after the {} data bytes of shape {}", path, trailing, expected,
                      shape_str(array.shape));
    return array;
}

}  // namespace tapegrad::data
