#include <tapegrad/data/npy.hpp>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include <unistd.h>

namespace tapegrad::data {
namespace {

static_assert(std::endian::native == std::endian::little, "the .npy writer stores the host's bytes as little-endian");

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;

std::string shape_tuple(const Shape& shape) {
    if (shape.size() == 1) return fmt::format("({},)", shape[0]);
    return fmt::format("({})", fmt::join(shape, ", "));
}

/// The text after "'key':" in a header dict, spaces skipped; IoError when the key is absent.
std::size_t value_at(const std::string& path, const std::string& header, const char* key) {
    const std::string quoted = fmt::format("'{}':", key);
    std::size_t at = header.find(quoted);
    if (at == std::string::npos) fail<IoError>("npy file '{}': header {} has no '{}'", path, header, key);
    at += quoted.size();
    while (at < header.size() && header[at] == ' ') ++at;
    return at;
}

Shape parse_shape(const std::string& path, const std::string& header) {
    std::size_t at = value_at(path, header, "shape");
    const std::size_t close = header.find(')', at);
    if (at >= header.size() || header[at] != '(' || close == std::string::npos)
        fail<IoError>("npy file '{}': cannot parse the shape in header {}", path, header);
    Shape shape;
    const char* p = header.c_str() + at + 1;
    const char* end = header.c_str() + close;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == ',')) ++p;
        if (p == end) break;
        char* next = nullptr;
        errno = 0;
        const unsigned long long size = std::strtoull(p, &next, 10);
        if (next == p || errno != 0 || *p == '-')
            fail<IoError>("npy file '{}': cannot parse the shape in header {}", path, header);
        shape.push_back(static_cast<std::size_t>(size));
        p = next;
    }
    return shape;
}

}  // namespace

template <class T>
void write_npy(const std::string& path, const xt::xarray<T>& array, bool sync) {
    std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", npy_descr<T>(),
                                     shape_tuple(Shape(array.shape().begin(), array.shape().end())));
    // NumPy aligns the data to 64 bytes: magic (6) + version (2) + length (2) + header + '\n'.
    const std::size_t unpadded = kMagicSize + 4 + header.size() + 1;
    header.append((64 - unpadded % 64) % 64, ' ');
    header.push_back('\n');
    if (header.size() > 65535) fail<IoError>("npy file '{}': header too long for version 1.0", path);

    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "wb"), &std::fclose);
    if (!file) fail<IoError>("npy file '{}': cannot create: {}", path, std::strerror(errno));
    const unsigned char prefix[4] = {1, 0, static_cast<unsigned char>(header.size() & 0xff),
                                     static_cast<unsigned char>(header.size() >> 8)};
    bool ok =
        std::fwrite(kMagic, 1, kMagicSize, file.get()) == kMagicSize && std::fwrite(prefix, 1, 4, file.get()) == 4 &&
        std::fwrite(header.data(), 1, header.size(), file.get()) == header.size() &&
        std::fwrite(array.data(), sizeof(T), array.size(), file.get()) == array.size() && std::fflush(file.get()) == 0;
    if (ok && sync) ok = ::fsync(fileno(file.get())) == 0;
    if (!ok || std::fclose(file.release()) != 0)
        fail<IoError>("npy file '{}': cannot write: {}", path, std::strerror(errno));
}

NpyHeader read_npy_header(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail<IoError>("npy file '{}': cannot open: {}", path, std::strerror(errno));
    char start[kMagicSize + 4] = {};
    in.read(start, sizeof start);
    if (in.gcount() < static_cast<std::streamsize>(kMagicSize) || std::memcmp(start, kMagic, kMagicSize) != 0)
        fail<IoError>("npy file '{}': not a .npy file (no \\x93NUMPY magic)", path);
    const auto major = static_cast<unsigned char>(start[6]);
    if (in.gcount() < static_cast<std::streamsize>(sizeof start) || major < 1 || major > 3)
        fail<IoError>("npy file '{}': unsupported or cut .npy version header", path);
    // Version 1.0 stores the header length in 2 bytes, 2.0 and 3.0 in 4.
    auto byte = [&](int i) { return static_cast<std::size_t>(static_cast<unsigned char>(start[i])); };
    std::size_t length = byte(8) | (byte(9) << 8);
    std::size_t offset = kMagicSize + 4;
    if (major > 1) {
        char more[2] = {};
        in.read(more, 2);
        length |= (static_cast<std::size_t>(static_cast<unsigned char>(more[0])) << 16) |
                  (static_cast<std::size_t>(static_cast<unsigned char>(more[1])) << 24);
        offset += 2;
    }
    // Checked against the file before allocating: a corrupt length could ask for gigabytes.
    std::error_code ec;
    const auto file_size = static_cast<std::size_t>(std::filesystem::file_size(path, ec));
    if (ec) fail<IoError>("npy file '{}': cannot read its size: {}", path, ec.message());
    if (length > file_size - std::min(file_size, offset))
        fail<IoError>("npy file '{}': truncated header ({} bytes declared, file has {})", path, length, file_size);
    std::string header(length, '\0');
    in.read(header.data(), static_cast<std::streamsize>(length));
    if (!in) fail<IoError>("npy file '{}': truncated header ({} bytes declared)", path, length);

    NpyHeader out;
    const std::size_t descr = value_at(path, header, "descr");
    const std::size_t descr_end = header.find('\'', descr + 1);
    if (header[descr] != '\'' || descr_end == std::string::npos)
        fail<IoError>("npy file '{}': cannot parse the descr in header {}", path, header);
    out.descr = header.substr(descr + 1, descr_end - descr - 1);
    const std::size_t order = value_at(path, header, "fortran_order");
    out.fortran_order = header.compare(order, 4, "True") == 0;
    if (!out.fortran_order && header.compare(order, 5, "False") != 0)
        fail<IoError>("npy file '{}': cannot parse fortran_order in header {}", path, header);
    out.shape = parse_shape(path, header);
    out.data_offset = offset + length;
    out.file_size = file_size;
    return out;
}

template <class T>
xt::xarray<T> read_npy(const std::string& path) {
    const NpyHeader header = read_npy_header(path);
    if (header.descr != npy_descr<T>())
        fail<IoError>("npy file '{}': dtype '{}', expected '{}' ({})", path, header.descr, npy_descr<T>(),
                      sizeof(T) == 4 ? "float32" : "float64");
    if (header.fortran_order) fail<IoError>("npy file '{}': Fortran order is not supported", path);

    const std::size_t file_size = header.file_size;
    const auto too_large = [&] {
        fail<IoError>("npy file '{}': shape {} is too large; the header is corrupt", path, shape_str(header.shape));
    };
    std::size_t count = 0;
    try {
        count = numel("read_npy", header.shape);
    } catch (const ValueError&) {
        too_large();
    }
    if (__builtin_mul_overflow(count, sizeof(T), &count)) too_large();
    const std::size_t expected = header.data_offset + count;
    if (file_size != expected)
        fail<IoError>("npy file '{}': {} for shape {}: {} bytes of data expected, {} present", path,
                      file_size < expected ? "truncated" : "extra bytes", shape_str(header.shape),
                      expected - header.data_offset, file_size - std::min(file_size, header.data_offset));

    auto array = xt::xarray<T>::from_shape(header.shape);
    std::ifstream in(path, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(header.data_offset));
    in.read(reinterpret_cast<char*>(array.data()), static_cast<std::streamsize>(array.size() * sizeof(T)));
    if (!in) fail<IoError>("npy file '{}': cannot read the data", path);
    return array;
}

template void write_npy<float>(const std::string&, const xt::xarray<float>&, bool);
template void write_npy<double>(const std::string&, const xt::xarray<double>&, bool);
template xt::xarray<float> read_npy<float>(const std::string&);
template xt::xarray<double> read_npy<double>(const std::string&);

}  // namespace tapegrad::data
