#include <tapegrad/data/npz.hpp>

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <climits>
#include <cstring>
#include <set>

#include <tapegrad/data/atomic_file.hpp>
#include <tapegrad/data/mapped_file.hpp>

namespace tapegrad::data {

namespace {

static_assert(std::endian::native == std::endian::little, "ZIP's fields are little-endian, read as the host's");

// The signatures of the ZIP records (APPNOTE.TXT 4.3).
constexpr std::uint32_t kLocalSig = 0x04034b50;
constexpr std::uint32_t kCentralSig = 0x02014b50;
constexpr std::uint32_t kEndSig = 0x06054b50;
constexpr std::uint32_t kZip64EndSig = 0x06064b50;
constexpr std::uint32_t kZip64LocatorSig = 0x07064b50;
constexpr std::size_t kEndSize = 22;
constexpr std::size_t kCentralSize = 46;
constexpr std::size_t kLocalSize = 30;
constexpr std::size_t kZip64EndSize = 56;
constexpr std::size_t kZip64LocatorSize = 20;
// Deflate cannot expand data by more than 1032:1, so a larger declared size is a lie.
constexpr std::uint64_t kMaxDeflateRatio = 1032;
// zlib counts each call's input and output in 32 bits: the data is fed in slices of this size.
constexpr std::size_t kSlice = std::size_t{1} << 30;
// 1980-01-01 00:00 in MS-DOS date and time fields.
constexpr std::uint16_t kDosDate = (1 << 5) | 1;

template <class U>
U le(const unsigned char* p) {
    U v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

bool is_npy(const std::string& name) {
    return name.size() >= 4 && name.compare(name.size() - 4, 4, ".npy") == 0;
}

// Ends a zlib stream however the function that owns it leaves.
struct Inflater {
    z_stream z{};
    Inflater() = default;
    Inflater(const Inflater&) = delete;
    Inflater& operator=(const Inflater&) = delete;
    ~Inflater() { inflateEnd(&z); }
};
struct Deflater {
    z_stream z{};
    Deflater() = default;
    Deflater(const Deflater&) = delete;
    Deflater& operator=(const Deflater&) = delete;
    ~Deflater() { deflateEnd(&z); }
};

// The raw deflate stream (no zlib header, as ZIP stores it) of the bytes of `parts`, in order.
std::vector<unsigned char> deflate_raw(const std::string& path, const std::string& member,
                                       const std::vector<std::pair<const unsigned char*, std::size_t>>& parts) {
    Deflater d;
    if (deflateInit2(&d.z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        fail<IoError>("npz '{}': member '{}': cannot start zlib's deflate", path, member);
    std::vector<unsigned char> out;
    const auto pump = [&](int flush) {
        for (;;) {
            if (out.size() - d.z.total_out < 65536)
                out.resize(out.size() + std::max<std::size_t>(65536, out.size() / 2));
            d.z.next_out = out.data() + d.z.total_out;
            d.z.avail_out = static_cast<uInt>(std::min(out.size() - d.z.total_out, kSlice));
            const int r = deflate(&d.z, flush);
            if (r == Z_STREAM_END) return;
            if (r != Z_OK && r != Z_BUF_ERROR)
                fail<IoError>("npz '{}': member '{}': zlib's deflate failed", path, member);
            if (flush == Z_NO_FLUSH && d.z.avail_in == 0) return;
        }
    };
    for (auto [p, n] : parts) {
        while (n > 0) {
            const std::size_t slice = std::min(n, kSlice);
            d.z.next_in = const_cast<Bytef*>(p);
            d.z.avail_in = static_cast<uInt>(slice);
            pump(Z_NO_FLUSH);
            p += slice;
            n -= slice;
        }
    }
    pump(Z_FINISH);
    out.resize(d.z.total_out);
    return out;
}

std::uint32_t crc_of(std::uint32_t crc, const unsigned char* p, std::size_t n) {
    return n == 0 ? crc : static_cast<std::uint32_t>(crc32_z(crc, p, n));
}

// Appends v's bytes, little-endian.
template <class U>
void put(std::string& out, U v) {
    char bytes[sizeof(U)];
    std::memcpy(bytes, &v, sizeof v);
    out.append(bytes, sizeof v);
}

}  // namespace

NpzFile::NpzFile(const std::string& path) : path_(path), file_(std::make_shared<detail::MappedFile>(path, "npz")) {
    parse();
}

void NpzFile::parse() {
    const unsigned char* data = file_->data();
    const std::size_t size = file_->size();
    const std::string& p = path_;
    // The end record: the last one whose comment runs exactly to the end of the file.
    std::size_t end = SIZE_MAX;
    for (std::size_t back = 0; back <= 0xffff && kEndSize + back <= size; ++back) {
        const std::size_t at = size - kEndSize - back;
        if (le<std::uint32_t>(data + at) == kEndSig && le<std::uint16_t>(data + at + 20) == back) {
            end = at;
            break;
        }
    }
    if (end == SIZE_MAX) fail<IoError>("npz '{}': not a ZIP archive (no end of central directory record)", p);
    std::uint64_t disk = le<std::uint16_t>(data + end + 4);
    std::uint64_t directory_disk = le<std::uint16_t>(data + end + 6);
    std::uint64_t disk_entries = le<std::uint16_t>(data + end + 8);
    std::uint64_t count = le<std::uint16_t>(data + end + 10);
    std::uint64_t directory_size = le<std::uint32_t>(data + end + 12);
    std::uint64_t directory_offset = le<std::uint32_t>(data + end + 16);
    std::uint64_t directory_limit = end;  // where the central directory must end
    if (end >= kZip64LocatorSize && le<std::uint32_t>(data + end - kZip64LocatorSize) == kZip64LocatorSig) {
        const unsigned char* locator = data + end - kZip64LocatorSize;
        const std::uint64_t record = le<std::uint64_t>(locator + 8);
        if (le<std::uint32_t>(locator + 4) != 0 || le<std::uint32_t>(locator + 16) > 1)
            fail<IoError>("npz '{}': the archive is split over several disks, which is not supported", p);
        const std::size_t locator_at = end - kZip64LocatorSize;
        if (locator_at < kZip64EndSize || record > locator_at - kZip64EndSize)
            fail<IoError>("npz '{}': the ZIP64 end record's offset {} is not in the file before its locator", p,
                          record);
        const unsigned char* r = data + record;
        if (le<std::uint32_t>(r) != kZip64EndSig)
            fail<IoError>("npz '{}': no ZIP64 end record at offset {}, where its locator points", p, record);
        const std::uint64_t record_size = le<std::uint64_t>(r + 4);
        if (record_size != locator_at - record - 12)
            fail<IoError>("npz '{}': the ZIP64 end record declares {} bytes, {} lie before its locator", p, record_size,
                          locator_at - record - 12);
        disk = le<std::uint32_t>(r + 16);
        directory_disk = le<std::uint32_t>(r + 20);
        disk_entries = le<std::uint64_t>(r + 24);
        count = le<std::uint64_t>(r + 32);
        directory_size = le<std::uint64_t>(r + 40);
        directory_offset = le<std::uint64_t>(r + 48);
        directory_limit = record;
    }
    if (disk != 0 || directory_disk != 0 || disk_entries != count)
        fail<IoError>("npz '{}': the archive is split over several disks, which is not supported", p);
    if (directory_offset > directory_limit || directory_size != directory_limit - directory_offset)
        fail<IoError>(
            "npz '{}': the central directory (offset {}, {} bytes) does not end where the end record begins "
            "(offset {})",
            p, directory_offset, directory_size, directory_limit);
    if (count > directory_size / kCentralSize)
        fail<IoError>(
            "npz '{}': the archive declares {} members, but its central directory of {} bytes holds at most "
            "{}",
            p, count, directory_size, directory_size / kCentralSize);

    std::set<std::string> keys;
    std::size_t at = directory_offset;
    for (std::uint64_t i = 0; i < count; ++i) {
        const unsigned char* c = data + at;
        if (directory_limit - at < kCentralSize || le<std::uint32_t>(c) != kCentralSig)
            fail<IoError>("npz '{}': central directory entry {} is cut or has no signature", p, i);
        const std::size_t name_size = le<std::uint16_t>(c + 28);
        const std::size_t extra_size = le<std::uint16_t>(c + 30);
        const std::size_t whole = kCentralSize + name_size + le<std::uint16_t>(c + 32) + extra_size;
        if (directory_limit - at < whole) fail<IoError>("npz '{}': central directory entry {} is cut", p, i);
        NpzEntry e;
        e.member.assign(reinterpret_cast<const char*>(c + kCentralSize), name_size);
        const std::string& m = e.member;
        const std::uint16_t flags = le<std::uint16_t>(c + 8);
        e.method = le<std::uint16_t>(c + 10);
        e.crc32 = le<std::uint32_t>(c + 16);
        e.compressed_size = le<std::uint32_t>(c + 20);
        e.uncompressed_size = le<std::uint32_t>(c + 24);
        std::uint64_t start_disk = le<std::uint16_t>(c + 34);
        std::uint64_t local = le<std::uint32_t>(c + 42);
        // The ZIP64 extra field holds, in this order, each field whose 32-bit (16-bit) value is all ones.
        const unsigned char* x = c + kCentralSize + name_size;
        const unsigned char* x_end = x + extra_size;
        std::uint64_t* wide[3] = {&e.uncompressed_size, &e.compressed_size, &local};
        bool zip64 = false;
        while (x_end - x >= 4) {
            const std::uint16_t id = le<std::uint16_t>(x);
            const std::size_t field_size = le<std::uint16_t>(x + 2);
            if (field_size > static_cast<std::size_t>(x_end - x - 4))
                fail<IoError>("npz '{}': member '{}': an extra field runs past its entry", p, m);
            if (id == 0x0001 && !zip64) {
                zip64 = true;
                const unsigned char* f = x + 4;
                const unsigned char* f_end = f + field_size;
                const auto take = [&](std::uint64_t& v, std::uint64_t all_ones, const char* what) {
                    if (v != all_ones) return;
                    if (f_end - f < (all_ones == 0xffff ? 4 : 8))
                        fail<IoError>("npz '{}': member '{}': its ZIP64 extra field lacks the {}", p, m, what);
                    v = all_ones == 0xffff ? le<std::uint32_t>(f) : le<std::uint64_t>(f);
                    f += all_ones == 0xffff ? 4 : 8;
                };
                take(*wide[0], 0xffffffff, "uncompressed size");
                take(*wide[1], 0xffffffff, "compressed size");
                take(*wide[2], 0xffffffff, "local header offset");
                take(start_disk, 0xffff, "disk number");
            }
            x += 4 + field_size;
        }
        if (flags & 0x41) fail<IoError>("npz '{}': member '{}' is encrypted, which is not supported", p, m);
        if (e.method != 0 && e.method != 8)
            fail<IoError>("npz '{}': member '{}': compression method {} (only 0, stored, and 8, deflate, are read)", p,
                          m, e.method);
        if (start_disk != 0)
            fail<IoError>("npz '{}': member '{}' is on disk {}; split archives are not supported", p, m, start_disk);
        if (e.method == 0 && e.compressed_size != e.uncompressed_size)
            fail<IoError>("npz '{}': member '{}' is stored, yet declares {} bytes in the archive and {} uncompressed",
                          p, m, e.compressed_size, e.uncompressed_size);
        if (e.method == 8 && e.uncompressed_size / kMaxDeflateRatio > e.compressed_size)
            fail<IoError>("npz '{}': member '{}' declares {} bytes deflated into {}, beyond deflate's 1032:1", p, m,
                          e.uncompressed_size, e.compressed_size);
        if (local > directory_offset || directory_offset - local < kLocalSize)
            fail<IoError>("npz '{}': member '{}': its local header offset {} is not before the central directory ({})",
                          p, m, local, directory_offset);
        const unsigned char* l = data + local;
        if (le<std::uint32_t>(l) != kLocalSig)
            fail<IoError>("npz '{}': member '{}': no local header at offset {}", p, m, local);
        const std::uint64_t begin = local + kLocalSize + le<std::uint16_t>(l + 26) + le<std::uint16_t>(l + 28);
        if (begin > directory_offset)
            fail<IoError>("npz '{}': member '{}': its local header runs into the central directory", p, m);
        if (le<std::uint16_t>(l + 26) != name_size || std::memcmp(l + kLocalSize, m.data(), name_size) != 0)
            fail<IoError>("npz '{}': member '{}': its local header names another member", p, m);
        if (e.compressed_size > directory_offset - begin)
            fail<IoError>("npz '{}': member '{}': its {} bytes from offset {} run past the central directory ({})", p,
                          m, e.compressed_size, begin, directory_offset);
        e.data_offset = begin;
        e.key = is_npy(m) ? m.substr(0, m.size() - 4) : m;
        if (!keys.insert(e.key).second)
            fail<IoError>("npz '{}': member '{}' gives the key '{}', which another member gave", p, m, e.key);
        entries_.push_back(std::move(e));
        at += whole;
    }
    if (at != directory_limit)
        fail<IoError>("npz '{}': the central directory holds {} bytes after its {} entries", p, directory_limit - at,
                      count);
    // Members that share bytes would let a small file inflate to many times its size (a zip bomb);
    // NumPy's writer never overlaps them (Python's zipfile refuses overlaps too).
    std::vector<const NpzEntry*> by_offset;
    for (const auto& e : entries_) by_offset.push_back(&e);
    std::sort(by_offset.begin(), by_offset.end(),
              [](const auto* a, const auto* b) { return a->data_offset < b->data_offset; });
    for (std::size_t i = 1; i < by_offset.size(); ++i) {
        const NpzEntry& a = *by_offset[i - 1];
        const NpzEntry& b = *by_offset[i];
        // b's local header lies before its data: at least 30 bytes and its name.
        if (a.data_offset + a.compressed_size + kLocalSize + b.member.size() > b.data_offset)
            fail<IoError>("npz '{}': members '{}' and '{}' overlap in the archive", p, a.member, b.member);
    }
}

bool NpzFile::contains(const std::string& key) const {
    return std::any_of(entries_.begin(), entries_.end(), [&](const auto& e) { return e.key == key; });
}

const NpzEntry& NpzFile::entry(const std::string& key) const {
    for (const auto& e : entries_) {
        if (e.key == key) return e;
    }
    fail<ValueError>("npz '{}': no array named '{}'", path_, key);
}

template <class T>
Tensor<T> NpzFile::load(const std::string& key) const {
    const NpzEntry& e = entry(key);
    const std::string source = fmt::format("npz '{}': member '{}'", path_, e.member);
    if (!is_npy(e.member))
        fail<IoError>("{}: not a .npy member (np.load returns it as raw bytes; tapegrad reads only arrays)", source);
    const unsigned char* npy = file_->data() + e.data_offset;
    std::size_t size = e.compressed_size;
    std::vector<unsigned char> inflated;
    if (e.method == 8) {
        // Bounded by the ratio check in parse(): at most 1032 times the member's bytes in the file.
        inflated.resize(e.uncompressed_size + 1);  // + 1: never a null next_out, which zlib refuses
        Inflater in;
        if (inflateInit2(&in.z, -MAX_WBITS) != Z_OK) fail<IoError>("{}: cannot start zlib's inflate", source);
        const unsigned char* next = npy;
        std::size_t left = e.compressed_size;
        for (;;) {
            if (in.z.avail_in == 0 && left > 0) {
                const std::size_t slice = std::min(left, kSlice);
                in.z.next_in = const_cast<Bytef*>(next);
                in.z.avail_in = static_cast<uInt>(slice);
                next += slice;
                left -= slice;
            }
            const std::size_t room = e.uncompressed_size - in.z.total_out;
            in.z.next_out = inflated.data() + in.z.total_out;
            in.z.avail_out = static_cast<uInt>(std::min(room, kSlice));
            const int r = inflate(&in.z, Z_NO_FLUSH);
            if (r == Z_STREAM_END) break;
            if (r == Z_BUF_ERROR && room == 0)
                fail<IoError>("{}: inflates to more than the {} bytes declared", source, e.uncompressed_size);
            if (r == Z_BUF_ERROR && in.z.avail_in == 0 && left == 0)
                fail<IoError>("{}: its deflate data is cut ({} of {} bytes inflated)", source, in.z.total_out,
                              e.uncompressed_size);
            if (r != Z_OK && r != Z_BUF_ERROR)
                fail<IoError>("{}: corrupt deflate data: {}", source, in.z.msg ? in.z.msg : "zlib error");
        }
        if (in.z.total_out != e.uncompressed_size)
            fail<IoError>("{}: inflates to {} bytes, {} declared", source, in.z.total_out, e.uncompressed_size);
        if (left + in.z.avail_in != 0)
            fail<IoError>("{}: its deflate data ends {} bytes before the member does", source, left + in.z.avail_in);
        npy = inflated.data();
        size = e.uncompressed_size;
    }
    const std::uint32_t crc = crc_of(0, npy, size);
    if (crc != e.crc32)
        fail<IoError>("{}: CRC-32 mismatch (the archive says {:08x}, the data gives {:08x})", source, e.crc32, crc);
    return Tensor<T>(parse_npy<T>(npy, size, source, NpyDtypes::convert));
}

template <class T>
NamedTensors<T> read_npz(const std::string& path) {
    const NpzFile file(path);
    NamedTensors<T> out;
    for (const auto& e : file.entries()) out.emplace_back(e.key, file.load<T>(e.key));
    return out;
}

template <class T>
void write_npz(const std::string& path, const NamedTensors<T>& tensors, bool compressed) {
    detail::write_npz(path, tensors, compressed, 0xffffffff);
}

namespace detail {

template <class T>
void write_npz(const std::string& path, const NamedTensors<T>& tensors, bool compressed, std::uint64_t zip64_limit) {
    std::set<std::string> names;
    for (const auto& [name, tensor] : tensors) {
        if (name.empty()) fail<ValueError>("write_npz '{}': an empty name cannot name an array", path);
        if (name.size() > 0xffff - 4)  // ZIP stores the member's name length ("<name>.npy") in 16 bits
            fail<ValueError>("write_npz '{}': a name of {} bytes is longer than ZIP allows", path, name.size());
        if (!tensor.defined()) fail<ValueError>("write_npz '{}': tensor '{}' is undefined", path, name);
        if (!names.insert(name).second) fail<ValueError>("write_npz '{}': the name '{}' is given twice", path, name);
    }
    struct Central {
        std::string name;
        std::uint32_t crc = 0;
        std::uint64_t compressed = 0, uncompressed = 0, offset = 0;
        std::uint16_t flags = 0;
        std::uint16_t method = 0;
    };
    detail::write_atomically(path, "npz", [&](std::FILE* file) {
        std::uint64_t offset = 0;
        bool ok = true;
        const auto write = [&](const void* bytes, std::size_t n) {
            if (n > 0) ok = ok && std::fwrite(bytes, 1, n, file) == n;
            offset += n;
        };
        std::vector<Central> central;
        for (const auto& [name, tensor] : tensors) {
            const auto& value = tensor.value();
            const std::string header = npy_header_bytes<T>(Shape(value.shape().begin(), value.shape().end()));
            const auto* head = reinterpret_cast<const unsigned char*>(header.data());
            const auto* body = reinterpret_cast<const unsigned char*>(value.data());
            const std::size_t body_size = value.size() * sizeof(T);
            Central c;
            c.name = name + ".npy";
            c.crc = crc_of(crc_of(0, head, header.size()), body, body_size);
            c.uncompressed = header.size() + body_size;
            c.offset = offset;
            c.method = compressed ? 8 : 0;
            // Python's zipfile marks a name that is not ASCII as UTF-8 (flag bit 11).
            if (std::any_of(c.name.begin(), c.name.end(), [](char ch) { return static_cast<unsigned char>(ch) > 127; }))
                c.flags = 0x800;
            std::vector<unsigned char> deflated;
            if (compressed) deflated = deflate_raw(path, c.name, {{head, header.size()}, {body, body_size}});
            c.compressed = compressed ? deflated.size() : c.uncompressed;
            // A local header's ZIP64 field holds both sizes (APPNOTE 4.5.3).
            const bool zip64 = c.uncompressed >= zip64_limit || c.compressed >= zip64_limit;
            std::string local;
            put<std::uint32_t>(local, kLocalSig);
            put<std::uint16_t>(local, zip64 ? 45 : 20);
            put<std::uint16_t>(local, c.flags);
            put<std::uint16_t>(local, c.method);
            put<std::uint16_t>(local, 0);
            put<std::uint16_t>(local, kDosDate);
            put<std::uint32_t>(local, c.crc);
            put<std::uint32_t>(local, zip64 ? 0xffffffff : static_cast<std::uint32_t>(c.compressed));
            put<std::uint32_t>(local, zip64 ? 0xffffffff : static_cast<std::uint32_t>(c.uncompressed));
            put<std::uint16_t>(local, static_cast<std::uint16_t>(c.name.size()));
            put<std::uint16_t>(local, zip64 ? 20 : 0);
            local += c.name;
            if (zip64) {
                put<std::uint16_t>(local, 1);
                put<std::uint16_t>(local, 16);
                put<std::uint64_t>(local, c.uncompressed);
                put<std::uint64_t>(local, c.compressed);
            }
            write(local.data(), local.size());
            if (compressed) {
                write(deflated.data(), deflated.size());
            } else {
                write(head, header.size());
                write(body, body_size);
            }
            central.push_back(std::move(c));
        }
        const std::uint64_t directory_offset = offset;
        for (const auto& c : central) {
            std::string extra;
            const auto narrow = [&](std::uint64_t v) -> std::uint32_t {
                if (v < zip64_limit) return static_cast<std::uint32_t>(v);
                put<std::uint64_t>(extra, v);
                return 0xffffffff;
            };
            const std::uint32_t uncompressed = narrow(c.uncompressed);
            const std::uint32_t compressed_size = narrow(c.compressed);
            const std::uint32_t local = narrow(c.offset);
            std::string entry;
            const std::uint16_t version = extra.empty() ? 20 : 45;
            put<std::uint32_t>(entry, kCentralSig);
            put<std::uint16_t>(entry, (3 << 8) | version);  // made by: Unix (for the permissions)
            put<std::uint16_t>(entry, version);
            put<std::uint16_t>(entry, c.flags);
            put<std::uint16_t>(entry, c.method);
            put<std::uint16_t>(entry, 0);
            put<std::uint16_t>(entry, kDosDate);
            put<std::uint32_t>(entry, c.crc);
            put<std::uint32_t>(entry, compressed_size);
            put<std::uint32_t>(entry, uncompressed);
            put<std::uint16_t>(entry, static_cast<std::uint16_t>(c.name.size()));
            put<std::uint16_t>(entry, static_cast<std::uint16_t>(extra.empty() ? 0 : extra.size() + 4));
            put<std::uint16_t>(entry, 0);               // comment
            put<std::uint16_t>(entry, 0);               // disk
            put<std::uint16_t>(entry, 0);               // internal attributes
            put<std::uint32_t>(entry, 0100644u << 16);  // a regular file, rw-r--r--
            put<std::uint32_t>(entry, local);
            entry += c.name;
            if (!extra.empty()) {
                put<std::uint16_t>(entry, 1);
                put<std::uint16_t>(entry, static_cast<std::uint16_t>(extra.size()));
                entry += extra;
            }
            write(entry.data(), entry.size());
        }
        const std::uint64_t directory_size = offset - directory_offset;
        const std::uint64_t count = central.size();
        std::string end;
        if (count >= 0xffff || directory_size >= zip64_limit || directory_offset >= zip64_limit) {
            const std::uint64_t record = offset;
            put<std::uint32_t>(end, kZip64EndSig);
            put<std::uint64_t>(end, kZip64EndSize - 12);
            put<std::uint16_t>(end, (3 << 8) | 45);
            put<std::uint16_t>(end, 45);
            put<std::uint32_t>(end, 0);
            put<std::uint32_t>(end, 0);
            put<std::uint64_t>(end, count);
            put<std::uint64_t>(end, count);
            put<std::uint64_t>(end, directory_size);
            put<std::uint64_t>(end, directory_offset);
            put<std::uint32_t>(end, kZip64LocatorSig);
            put<std::uint32_t>(end, 0);
            put<std::uint64_t>(end, record);
            put<std::uint32_t>(end, 1);
        }
        put<std::uint32_t>(end, kEndSig);
        put<std::uint16_t>(end, 0);
        put<std::uint16_t>(end, 0);
        put<std::uint16_t>(end, static_cast<std::uint16_t>(std::min<std::uint64_t>(count, 0xffff)));
        put<std::uint16_t>(end, static_cast<std::uint16_t>(std::min<std::uint64_t>(count, 0xffff)));
        put<std::uint32_t>(end,
                           directory_size >= zip64_limit ? 0xffffffff : static_cast<std::uint32_t>(directory_size));
        put<std::uint32_t>(end,
                           directory_offset >= zip64_limit ? 0xffffffff : static_cast<std::uint32_t>(directory_offset));
        put<std::uint16_t>(end, 0);
        write(end.data(), end.size());
        return ok;
    });
}

}  // namespace detail

template Tensor<float> NpzFile::load<float>(const std::string&) const;
template Tensor<double> NpzFile::load<double>(const std::string&) const;
template NamedTensors<float> read_npz<float>(const std::string&);
template NamedTensors<double> read_npz<double>(const std::string&);
template void write_npz<float>(const std::string&, const NamedTensors<float>&, bool);
template void write_npz<double>(const std::string&, const NamedTensors<double>&, bool);
template void detail::write_npz<float>(const std::string&, const NamedTensors<float>&, bool, std::uint64_t);
template void detail::write_npz<double>(const std::string&, const NamedTensors<double>&, bool, std::uint64_t);

}  // namespace tapegrad::data
