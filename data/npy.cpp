#include <tapegrad/data/npy.hpp>

#include <unistd.h>

#include <bit>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string_view>
#include <type_traits>
#include <vector>

#include <xtensor/xmanipulation.hpp>

#include <tapegrad/data/element_convert.hpp>
#include <tapegrad/data/mapped_file.hpp>

namespace tapegrad::data {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the .npy reader and writer take the host's bytes as little-endian");

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;
// Real headers nest two deep (a structured dtype's list of tuples); deeper is refused, not recursed.
constexpr int kMaxDepth = 16;

std::string shape_tuple(const Shape& shape) {
    if (shape.size() == 1) return fmt::format("({},)", shape[0]);
    return fmt::format("({})", fmt::join(shape, ", "));
}

// A header in a message: its first 160 characters, bytes outside printable ASCII as \xNN.
std::string shown(std::string_view header) {
    std::string out;
    for (std::size_t i = 0; i < header.size() && i < 160; ++i) {
        const auto c = static_cast<unsigned char>(header[i]);
        if (c >= 0x20 && c < 0x7f) {
            out.push_back(static_cast<char>(c));
        } else {
            out += fmt::format("\\x{:02x}", c);
        }
    }
    if (header.size() > 160) out += "...";
    return out;
}

// A value of the header's Python literal: what NumPy's header holds (and a list, to refuse a
// structured dtype by name).
struct Literal {
    enum Kind { string, integer, boolean, tuple, list } kind = string;
    std::string text;
    std::uint64_t number = 0;
    bool flag = false;
    std::vector<Literal> items;
};

// A parser of the header dict as Python's ast.literal_eval reads it, restricted to the literals
// a .npy header can hold; every failure an IoError naming the source and the position.
class HeaderParser {
public:
    HeaderParser(std::string_view text, const std::string& source) : s_(text), source_(source) {}

    NpyHeader parse() {
        NpyHeader out;
        bool seen[3] = {false, false, false};
        static constexpr const char* keys[3] = {"descr", "fortran_order", "shape"};
        expect('{');
        while (!eat('}')) {
            const std::size_t key_at = at_;
            const Literal key = value(1);
            if (key.kind != Literal::string) error("a key is not a string", key_at);
            expect(':');
            const std::size_t value_at = at_;
            const Literal v = value(1);
            int k = 0;
            while (k < 3 && key.text != keys[k]) ++k;
            if (k == 3)
                error(fmt::format("unexpected key '{}' (NumPy writes only descr, fortran_order, shape)", key.text),
                      key_at);
            if (seen[k]) error(fmt::format("the key '{}' is given twice", key.text), key_at);
            seen[k] = true;
            if (k == 0) {
                if (v.kind == Literal::list)
                    fail<IoError>("{}: the descr is a list: a structured dtype, which tapegrad does not read", source_);
                if (v.kind != Literal::string) error("descr is not a string", value_at);
                out.descr = v.text;
            } else if (k == 1) {
                if (v.kind != Literal::boolean) error("fortran_order is not True or False", value_at);
                out.fortran_order = v.flag;
            } else {
                if (v.kind != Literal::tuple) error("the shape is not a tuple", value_at);
                for (const auto& d : v.items) {
                    if (d.kind != Literal::integer) error("the shape holds something other than an integer", value_at);
                    out.shape.push_back(d.number);
                }
            }
            if (!eat(',')) {
                expect('}');
                break;
            }
        }
        skip();
        if (at_ != s_.size()) error("text after the closing brace", at_);
        for (int k = 0; k < 3; ++k) {
            if (!seen[k]) fail<IoError>("{}: header {} has no '{}'", source_, shown(s_), keys[k]);
        }
        return out;
    }

private:
    std::string_view s_;
    const std::string& source_;
    std::size_t at_ = 0;

    [[noreturn]] void error(const std::string& what, std::size_t at) const {
        fail<IoError>("{}: cannot parse the header {}: {} (at byte {})", source_, shown(s_), what, at);
    }
    void skip() {
        while (at_ < s_.size() && (s_[at_] == ' ' || s_[at_] == '\t' || s_[at_] == '\n' || s_[at_] == '\r')) ++at_;
    }
    bool eat(char c) {
        skip();
        if (at_ < s_.size() && s_[at_] == c) {
            ++at_;
            return true;
        }
        return false;
    }
    void expect(char c) {
        if (!eat(c)) error(fmt::format("'{}' expected", c), at_);
    }
    bool word(std::string_view w) {
        if (s_.substr(at_, w.size()) != w) return false;
        const std::size_t next = at_ + w.size();
        if (next < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[next])) || s_[next] == '_')) return false;
        at_ = next;
        return true;
    }

    // The items of a tuple or list up to `close`, after its opening bracket; `parenthesised` is
    // set for `(x)`, which Python reads as x itself, not a tuple.
    std::vector<Literal> items(char close, int depth, bool& parenthesised) {
        std::vector<Literal> out;
        parenthesised = false;
        if (eat(close)) return out;
        for (;;) {
            out.push_back(value(depth + 1));
            if (eat(close)) {
                parenthesised = out.size() == 1;
                return out;
            }
            expect(',');
            if (eat(close)) return out;
        }
    }

    Literal value(int depth) {
        if (depth > kMaxDepth) error(fmt::format("nested deeper than {} levels", kMaxDepth), at_);
        skip();
        if (at_ >= s_.size()) error("the header ends inside the dict", at_);
        Literal out;
        const char c = s_[at_];
        if (c == '\'' || c == '"') {
            const std::size_t start = at_++;
            while (at_ < s_.size() && s_[at_] != c) {
                if (s_[at_] == '\\') error("escape sequences in strings are not supported", at_);
                if (s_[at_] == '\n') error("a string is not closed", start);
                out.text.push_back(s_[at_++]);
            }
            if (at_ >= s_.size()) error("a string is not closed", start);
            ++at_;
            out.kind = Literal::string;
        } else if (c >= '0' && c <= '9') {
            out.kind = Literal::integer;
            const std::size_t start = at_;
            while (at_ < s_.size() && s_[at_] >= '0' && s_[at_] <= '9') {
                if (__builtin_mul_overflow(out.number, 10u, &out.number) ||
                    __builtin_add_overflow(out.number, static_cast<unsigned>(s_[at_] - '0'), &out.number))
                    error("an integer does not fit in 64 bits", start);
                ++at_;
            }
            if (at_ < s_.size() && (s_[at_] == 'L' || s_[at_] == 'l')) ++at_;  // Python 2's long, as NumPy reads it
        } else if (c == '-') {
            error("a negative number", at_);
        } else if (word("True")) {
            out.kind = Literal::boolean;
            out.flag = true;
        } else if (word("False")) {
            out.kind = Literal::boolean;
        } else if (c == '(' || c == '[') {
            ++at_;
            bool parenthesised = false;
            out.items = items(c == '(' ? ')' : ']', depth, parenthesised);
            if (c == '(' && parenthesised) return std::move(out.items.front());
            out.kind = c == '(' ? Literal::tuple : Literal::list;
        } else {
            error(fmt::format("unexpected '{}'", shown(s_.substr(at_, 1))), at_);
        }
        return out;
    }
};

// A dtype NumPy writes for a number: kind 'f', 'i', 'u' or 'b', its size in bytes, and whether its
// bytes are big-endian (swapped on this little-endian host).
struct Dtype {
    char kind = 0;
    std::size_t size = 0;
    bool swap = false;
};

[[noreturn]] void refuse_dtype(const std::string& source, const std::string& descr, const char* why) {
    fail<IoError>("{}: dtype '{}' is {}, which tapegrad does not read", source, shown(descr), why);
}

Dtype decode_descr(const std::string& descr, const std::string& source) {
    const auto refuse = [&](const char* why) { refuse_dtype(source, descr, why); };
    if (descr.size() < 2 || std::string_view("<>=|").find(descr[0]) == std::string_view::npos)
        refuse("not a NumPy type string (byte order, kind, size)");
    Dtype d;
    d.kind = descr[1];
    d.swap = descr[0] == '>';
    switch (d.kind) {
        case 'c':
            refuse_dtype(source, descr, "complex");
        case 'O':
            refuse_dtype(source, descr, "object (pickled Python objects)");
        case 'U':
        case 'S':
        case 'a':
            refuse_dtype(source, descr, "a string type");
        case 'V':
            refuse_dtype(source, descr, "void (raw or structured)");
        case 'M':
        case 'm':
            refuse_dtype(source, descr, "a date or time type");
        default:
            break;
    }
    const std::string size = descr.substr(2);
    if (size == "1" || size == "2" || size == "4" || size == "8") d.size = static_cast<std::size_t>(size[0] - '0');
    const bool known = (d.kind == 'f' && d.size >= 2) || ((d.kind == 'i' || d.kind == 'u') && d.size >= 1) ||
                       (d.kind == 'b' && d.size == 1);
    if (!known) refuse("not one of f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1");
    if (descr[0] == '|' && d.size > 1) refuse("a multi-byte type with no byte order ('|')");
    return d;
}

// An unsigned integer of sizeof(U) bytes at p (any alignment), byte-swapped when `swap`.
template <class U>
U load(const unsigned char* p, bool swap) {
    U u;
    std::memcpy(&u, p, sizeof(U));
    if (!swap) return u;
    if constexpr (sizeof(U) == 2) return __builtin_bswap16(u);
    if constexpr (sizeof(U) == 4) return __builtin_bswap32(u);
    if constexpr (sizeof(U) == 8) return __builtin_bswap64(u);
    return u;
}

// The n elements at `data`, stored as `d`, into dst as T (NpyDtypes::convert's rules).
template <class T>
void convert(const unsigned char* data, std::size_t n, const Dtype& d, T* dst, const std::string& source,
             const std::string& descr) {
    const char* type_name = sizeof(T) == 4 ? "float32" : "float64";
    const auto integers = [&]<class U>() {
        using S = std::make_signed_t<U>;
        for (std::size_t i = 0; i < n; ++i) {
            const U u = load<U>(data + i * sizeof(U), d.swap);
            const auto check = [&](auto v) {
                if (!detail::exactly_representable<T>(v))
                    fail<ValueError>("{} ({}): element {} is {}, which {} cannot hold exactly; refusing to round it",
                                     source, descr, i, v, type_name);
                dst[i] = static_cast<T>(v);
            };
            if (d.kind == 'i') {
                check(std::bit_cast<S>(u));
            } else {
                check(u);
            }
        }
    };
    if (d.kind == 'b') {
        for (std::size_t i = 0; i < n; ++i) {
            if (data[i] > 1) fail<IoError>("{} ({}): byte {} is {}, not 0 or 1", source, descr, i, int(data[i]));
            dst[i] = static_cast<T>(data[i]);
        }
    } else if (d.kind == 'f' && d.size == 2) {
        for (std::size_t i = 0; i < n; ++i)
            dst[i] = static_cast<T>(detail::half_to_float(load<std::uint16_t>(data + 2 * i, d.swap)));
    } else if (d.kind == 'f' && d.size == 4) {
        for (std::size_t i = 0; i < n; ++i)
            dst[i] = static_cast<T>(std::bit_cast<float>(load<std::uint32_t>(data + 4 * i, d.swap)));
    } else if (d.kind == 'f') {
        for (std::size_t i = 0; i < n; ++i)
            dst[i] = static_cast<T>(std::bit_cast<double>(load<std::uint64_t>(data + 8 * i, d.swap)));
    } else if (d.size == 1) {
        integers.template operator()<std::uint8_t>();
    } else if (d.size == 2) {
        integers.template operator()<std::uint16_t>();
    } else if (d.size == 4) {
        integers.template operator()<std::uint32_t>();
    } else {
        integers.template operator()<std::uint64_t>();
    }
}

}  // namespace

template <class T>
std::string npy_header_bytes(const Shape& shape) {
    const std::string dict =
        fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", npy_descr<T>(), shape_tuple(shape));
    // NumPy aligns the data to 64 bytes: magic (6) + version (2) + length (2, or 4 from 2.0 on) +
    // header + '\n'; it switches to 2.0 only when 1.0's uint16 cannot hold the length.
    for (const std::size_t length_size : {2, 4}) {
        const std::size_t unpadded = kMagicSize + 2 + length_size + dict.size() + 1;
        const std::size_t length = dict.size() + (64 - unpadded % 64) % 64 + 1;
        if (length_size == 2 && length > 65535) continue;
        std::string out(kMagic, kMagicSize);
        out.push_back(static_cast<char>(length_size == 2 ? 1 : 2));
        out.push_back(0);
        for (std::size_t i = 0; i < length_size; ++i) out.push_back(static_cast<char>((length >> (8 * i)) & 0xff));
        out += dict;
        out.append(length - dict.size() - 1, ' ');
        out.push_back('\n');
        return out;
    }
    fail<IoError>("npy: a header of {} bytes does not fit version 2.0", dict.size());  // 4 GiB of shape
}

template <class T>
void write_npy(const std::string& path, const xt::xarray<T>& array, bool sync) {
    const std::string header = npy_header_bytes<T>(Shape(array.shape().begin(), array.shape().end()));
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "wb"), &std::fclose);
    if (!file) fail<IoError>("npy file '{}': cannot create: {}", path, std::strerror(errno));
    bool ok = std::fwrite(header.data(), 1, header.size(), file.get()) == header.size() &&
              (array.size() == 0 || std::fwrite(array.data(), sizeof(T), array.size(), file.get()) == array.size()) &&
              std::fflush(file.get()) == 0;
    if (ok && sync) ok = ::fsync(fileno(file.get())) == 0;
    if (!ok || std::fclose(file.release()) != 0)
        fail<IoError>("npy file '{}': cannot write: {}", path, std::strerror(errno));
}

NpyHeader parse_npy_header(const unsigned char* bytes, std::size_t size, const std::string& source) {
    if (size < kMagicSize || std::memcmp(bytes, kMagic, kMagicSize) != 0)
        fail<IoError>("{}: not a .npy file (no \\x93NUMPY magic)", source);
    if (size < kMagicSize + 2 || bytes[6] < 1 || bytes[6] > 3 || bytes[7] != 0)
        fail<IoError>("{}: unsupported or cut .npy version header{}", source,
                      size < kMagicSize + 2 ? std::string() : fmt::format(" (version {}.{})", bytes[6], bytes[7]));
    const unsigned major = bytes[6];
    // Version 1.0 stores the header length in 2 bytes, 2.0 and 3.0 in 4.
    const std::size_t length_size = major == 1 ? 2 : 4;
    const std::size_t offset = kMagicSize + 2 + length_size;
    if (size < offset) fail<IoError>("{}: truncated header (the file ends in its length)", source);
    std::size_t length = 0;
    for (std::size_t i = 0; i < length_size; ++i) length |= std::size_t{bytes[kMagicSize + 2 + i]} << (8 * i);
    if (length > size - offset)
        fail<IoError>("{}: truncated header ({} bytes declared, file has {})", source, length, size);
    const std::string_view text(reinterpret_cast<const char*>(bytes + offset), length);
    // 1.0 and 2.0 headers are latin-1, 3.0's UTF-8; the keys and values NumPy writes are ASCII, so
    // a byte above 127 can only be in a descr we refuse anyway: refused here either way.
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (static_cast<unsigned char>(text[i]) > 127 || text[i] == '\0')
            fail<IoError>("{}: header {} holds byte {:#04x} at {}, not a valid character in a NumPy header", source,
                          shown(text), static_cast<unsigned char>(text[i]), i);
    }
    NpyHeader out = HeaderParser(text, source).parse();
    out.data_offset = offset + length;
    out.file_size = size;
    return out;
}

template <class T>
xt::xarray<T> parse_npy(const unsigned char* bytes, std::size_t size, const std::string& source, NpyDtypes dtypes) {
    const NpyHeader header = parse_npy_header(bytes, size, source);
    const bool own = header.descr == npy_descr<T>() || header.descr == std::string("=") + (npy_descr<T>() + 1);
    if (dtypes == NpyDtypes::exact && !own)
        fail<IoError>("{}: dtype '{}', expected '{}' ({}); NpyDtypes::convert converts other numeric dtypes", source,
                      shown(header.descr), npy_descr<T>(), sizeof(T) == 4 ? "float32" : "float64");
    const Dtype dtype = decode_descr(header.descr, source);

    const auto too_large = [&] {
        fail<IoError>("{}: shape {} is too large; the header is corrupt", source, shape_str(header.shape));
    };
    std::size_t count = 0;
    try {
        count = numel("read_npy", header.shape);
    } catch (const ValueError&) {
        too_large();
    }
    std::size_t data_bytes = 0;
    if (__builtin_mul_overflow(count, dtype.size, &data_bytes)) too_large();
    const std::size_t present = size - header.data_offset;
    if (present != data_bytes)
        fail<IoError>("{}: {} for shape {}: {} bytes of data expected, {} present", source,
                      present < data_bytes ? "truncated" : "extra bytes", shape_str(header.shape), data_bytes, present);

    // Fortran order: the data is the C-order array of the reversed shape, transposed.
    const Shape stored = header.fortran_order ? Shape(header.shape.rbegin(), header.shape.rend()) : header.shape;
    auto array = xt::xarray<T>::from_shape(stored);
    const unsigned char* data = bytes + header.data_offset;
    if (own) {
        if (count > 0) std::memcpy(array.data(), data, data_bytes);
    } else {
        convert<T>(data, count, dtype, array.data(), source, shown(header.descr));
    }
    if (header.fortran_order && header.shape.size() > 1) return xt::xarray<T>(xt::transpose(array));
    return array;
}

NpyHeader read_npy_header(const std::string& path) {
    const detail::MappedFile file(path, "npy file");
    return parse_npy_header(file.data(), file.size(), fmt::format("npy file '{}'", path));
}

template <class T>
xt::xarray<T> read_npy(const std::string& path, NpyDtypes dtypes) {
    const detail::MappedFile file(path, "npy file");
    return parse_npy<T>(file.data(), file.size(), fmt::format("npy file '{}'", path), dtypes);
}

template std::string npy_header_bytes<float>(const Shape&);
template std::string npy_header_bytes<double>(const Shape&);
template void write_npy<float>(const std::string&, const xt::xarray<float>&, bool);
template void write_npy<double>(const std::string&, const xt::xarray<double>&, bool);
template xt::xarray<float> parse_npy<float>(const unsigned char*, std::size_t, const std::string&, NpyDtypes);
template xt::xarray<double> parse_npy<double>(const unsigned char*, std::size_t, const std::string&, NpyDtypes);
template xt::xarray<float> read_npy<float>(const std::string&, NpyDtypes);
template xt::xarray<double> read_npy<double>(const std::string&, NpyDtypes);

}  // namespace tapegrad::data
