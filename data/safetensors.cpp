#include <tapegrad/data/safetensors.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <set>
#include <type_traits>

#include <nlohmann/json.hpp>

#include <tapegrad/data/atomic_file.hpp>
#include <tapegrad/data/element_convert.hpp>

namespace tapegrad::data {

namespace {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian, read as the host's");

// The reference implementation's limit (safetensors' MAX_HEADER_SIZE).
constexpr std::uint64_t max_header = 100'000'000;
// serde_json's recursion limit, which the reference's header parser has; a real header nests 3 deep.
constexpr int max_depth = 128;

// A JSON value in a message: scalars as written, arrays and objects by their type (dumping a deeply
// nested one would recurse as deep).
std::string shown(const nlohmann::json& value) {
    return value.is_structured() ? value.type_name() : value.dump();
}

struct Dtype {
    const char* name;
    std::size_t size;
};
// Every dtype of the format (the reference's Dtype enum), with its size in bytes.
constexpr Dtype dtypes[] = {{"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
                            {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
                            {"U32", 4},  {"F32", 4}, {"I64", 8}, {"U64", 8},     {"F64", 8}};

std::size_t dtype_size(const std::string& name) {
    for (const auto& d : dtypes) {
        if (name == d.name) return d.size;
    }
    return 0;
}

template <class S>
S read_le(const unsigned char* p) {
    S value;
    std::memcpy(&value, p, sizeof(S));
    return value;
}

// Reads one field of a tensor's entry that must be a non-negative integer.
std::uint64_t unsigned_value(const nlohmann::json& value, const std::string& path, const std::string& tensor,
                             const char* field) {
    if (!value.is_number_unsigned())
        fail<IoError>("safetensors '{}': tensor '{}': {} holds {}, not a non-negative integer", path, tensor, field,
                      shown(value));
    return value.get<std::uint64_t>();
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail<IoError>("safetensors '{}': cannot open: {}", path, std::strerror(errno));
    struct stat info {};
    if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
        ::close(fd);
        fail<IoError>("safetensors '{}': not a regular file", path);
    }
    size_ = static_cast<std::size_t>(info.st_size);
    if (size_ < 8) {
        ::close(fd);
        fail<IoError>("safetensors '{}': {} bytes, too short for the 8-byte header length", path, size_);
    }
    void* map = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    const int error = errno;
    ::close(fd);  // the mapping keeps the file
    if (map == MAP_FAILED) fail<IoError>("safetensors '{}': cannot map it: {}", path, std::strerror(error));
    map_ = static_cast<const unsigned char*>(map);
    try {
        parse_header();
    } catch (...) {
        ::munmap(const_cast<unsigned char*>(map_), size_);
        throw;
    }
}

SafetensorsFile::~SafetensorsFile() {
    ::munmap(const_cast<unsigned char*>(map_), size_);
}

void SafetensorsFile::parse_header() {
    const auto n = read_le<std::uint64_t>(map_);
    if (n > max_header)
        fail<IoError>("safetensors '{}': the header length {} exceeds the limit of {} bytes", path_, n, max_header);
    if (n > size_ - 8)
        fail<IoError>("safetensors '{}': the header length is {} bytes, but only {} bytes follow it", path_, n,
                      size_ - 8);
    data_start_ = 8 + n;
    const char* text = reinterpret_cast<const char*>(map_ + 8);
    if (n == 0 || text[0] != '{')
        fail<IoError>("safetensors '{}': the header does not start with '{{' (it must be a JSON object)", path_);

    // nlohmann keeps the last of two equal keys silently: the callback sees every key of every object.
    using json = nlohmann::json;
    std::vector<std::set<std::string>> open_objects;
    // It also bounds the nesting, as the reference's JSON parser does (serde_json: 128 levels): a
    // header of 100 MB of '[' would otherwise become gigabytes of nested values.
    const json::parser_callback_t no_duplicates = [&](int depth, json::parse_event_t event, json& parsed) {
        if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
            depth >= max_depth)
            fail<IoError>("safetensors '{}': the header nests deeper than {} levels", path_, max_depth);
        if (event == json::parse_event_t::object_start) {
            open_objects.emplace_back();
        } else if (event == json::parse_event_t::object_end) {
            open_objects.pop_back();
        } else if (event == json::parse_event_t::key) {
            const auto& key = parsed.get_ref<const std::string&>();
            if (!open_objects.back().insert(key).second)
                fail<IoError>("safetensors '{}': the header gives the key '{}' twice", path_, key);
        }
        return true;
    };
    json header;
    try {
        header = json::parse(text, text + n, no_duplicates);
    } catch (const json::exception& e) {
        fail<IoError>("safetensors '{}': the header is not valid JSON: {}", path_, e.what());
    }
    if (!header.is_object()) fail<IoError>("safetensors '{}': the header is not a JSON object", path_);

    for (const auto& [name, value] : header.items()) {
        if (name == "__metadata__") {
            if (value.is_null()) continue;  // the reference reads a null as no metadata
            if (!value.is_object()) fail<IoError>("safetensors '{}': __metadata__ is not an object of strings", path_);
            for (const auto& [key, text_value] : value.items()) {
                if (!text_value.is_string())
                    fail<IoError>("safetensors '{}': __metadata__ '{}' is {}, not a string", path_, key,
                                  shown(text_value));
                metadata_.emplace(key, text_value.get<std::string>());
            }
            continue;
        }
        if (!value.is_object()) fail<IoError>("safetensors '{}': tensor '{}': its entry is not an object", path_, name);
        SafetensorsEntry entry;
        entry.name = name;
        const auto dtype = value.find("dtype");
        if (dtype == value.end() || !dtype->is_string())
            fail<IoError>("safetensors '{}': tensor '{}': no dtype string", path_, name);
        entry.dtype = dtype->get<std::string>();
        const std::size_t item_size = dtype_size(entry.dtype);
        if (item_size == 0)
            fail<IoError>("safetensors '{}': tensor '{}': unknown dtype '{}'", path_, name, entry.dtype);
        const auto shape = value.find("shape");
        if (shape == value.end() || !shape->is_array())
            fail<IoError>("safetensors '{}': tensor '{}': no shape array", path_, name);
        // The element count and byte length, refused when they overflow 64 bits.
        std::uint64_t bytes = item_size;
        bool overflow = false;
        for (const auto& dim : *shape) {
            const std::uint64_t d = unsigned_value(dim, path_, name, "shape");
            entry.shape.push_back(d);
            overflow = overflow || __builtin_mul_overflow(bytes, d, &bytes);
        }
        if (overflow)
            fail<IoError>("safetensors '{}': tensor '{}': shape {} is too large to address", path_, name,
                          shape_str(entry.shape));
        const auto offsets = value.find("data_offsets");
        if (offsets == value.end() || !offsets->is_array() || offsets->size() != 2)
            fail<IoError>("safetensors '{}': tensor '{}': data_offsets is not an array of two integers", path_, name);
        entry.begin = unsigned_value((*offsets)[0], path_, name, "data_offsets");
        entry.end = unsigned_value((*offsets)[1], path_, name, "data_offsets");
        if (entry.end < entry.begin)
            fail<IoError>("safetensors '{}': tensor '{}': data_offsets [{}, {}] end before they begin", path_, name,
                          entry.begin, entry.end);
        if (entry.end - entry.begin != bytes)
            fail<IoError>(
                "safetensors '{}': tensor '{}': {} of shape {} is {} bytes, but data_offsets [{}, {}] span {} bytes",
                path_, name, entry.dtype, shape_str(entry.shape), bytes, entry.begin, entry.end,
                entry.end - entry.begin);
        entries_.push_back(std::move(entry));
    }

    // In the order of their data, the tensors must tile the data exactly: no overlap, no hole.
    std::stable_sort(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
        return std::pair(a.begin, a.end) < std::pair(b.begin, b.end);
    });
    const std::size_t data_size = size_ - data_start_;
    std::size_t covered = 0;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        const auto& e = entries_[i];
        if (e.begin < covered)
            fail<IoError>("safetensors '{}': tensor '{}' (bytes [{}, {}]) overlaps tensor '{}' (ending at byte {})",
                          path_, e.name, e.begin, e.end, entries_[i - 1].name, covered);
        if (e.begin > covered)
            fail<IoError>("safetensors '{}': tensor '{}' begins at byte {}, leaving bytes [{}, {}] of the data unused",
                          path_, e.name, e.begin, covered, e.begin);
        covered = e.end;
    }
    if (covered != data_size)
        fail<IoError>("safetensors '{}': the tensors cover {} bytes of data, but the file holds {} after its header",
                      path_, covered, data_size);
}

bool SafetensorsFile::contains(const std::string& name) const {
    return std::any_of(entries_.begin(), entries_.end(), [&](const auto& e) { return e.name == name; });
}

const SafetensorsEntry& SafetensorsFile::entry(const std::string& name) const {
    for (const auto& e : entries_) {
        if (e.name == name) return e;
    }
    fail<ValueError>("safetensors '{}': no tensor named '{}'", path_, name);
}

template <class T>
Tensor<T> SafetensorsFile::load(const std::string& name) const {
    const SafetensorsEntry& e = entry(name);
    const unsigned char* data = map_ + data_start_ + e.begin;
    xt::xarray<T> out = xt::xarray<T>::from_shape(e.shape);
    const std::size_t n = out.size();
    T* dst = out.data();
    const char* type_name = sizeof(T) == 4 ? "float32" : "float64";
    const auto integers = [&]<class I>() {
        for (std::size_t i = 0; i < n; ++i) {
            const I v = read_le<I>(data + i * sizeof(I));
            if (!detail::exactly_representable<T>(v))
                fail<ValueError>(
                    "safetensors '{}': tensor '{}' ({}): element {} is {}, which {} cannot hold exactly; refusing to "
                    "round it",
                    path_, name, e.dtype, i, v, type_name);
            dst[i] = static_cast<T>(v);
        }
    };
    const auto floats = [&]<class S>(auto convert) {
        for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<T>(convert(read_le<S>(data + i * sizeof(S))));
    };
    const auto same = [](auto v) { return v; };
    const std::string& d = e.dtype;
    if (d == "F32") {
        floats.template operator()<float>(same);
    } else if (d == "F64") {
        floats.template operator()<double>(same);
    } else if (d == "F16") {
        floats.template operator()<std::uint16_t>(detail::half_to_float);
    } else if (d == "BF16") {
        floats.template operator()<std::uint16_t>(detail::bfloat_to_float);
    } else if (d == "I8") {
        integers.template operator()<std::int8_t>();
    } else if (d == "I16") {
        integers.template operator()<std::int16_t>();
    } else if (d == "I32") {
        integers.template operator()<std::int32_t>();
    } else if (d == "I64") {
        integers.template operator()<std::int64_t>();
    } else if (d == "U8") {
        integers.template operator()<std::uint8_t>();
    } else if (d == "U16") {
        integers.template operator()<std::uint16_t>();
    } else if (d == "U32") {
        integers.template operator()<std::uint32_t>();
    } else if (d == "U64") {
        integers.template operator()<std::uint64_t>();
    } else if (d == "BOOL") {
        for (std::size_t i = 0; i < n; ++i) {
            if (data[i] > 1)
                fail<IoError>("safetensors '{}': tensor '{}' (BOOL): byte {} is {}, not 0 or 1", path_, name, i,
                              int(data[i]));
            dst[i] = static_cast<T>(data[i]);
        }
    } else {
        fail<ValueError>("safetensors '{}': tensor '{}' is {}, an 8-bit float tapegrad does not convert", path_, name,
                         d);
    }
    return Tensor<T>(std::move(out));
}

template <class T>
NamedTensors<T> read_safetensors(const std::string& path) {
    const SafetensorsFile file(path);
    NamedTensors<T> out;
    for (const auto& e : file.entries()) out.emplace_back(e.name, file.load<T>(e.name));
    return out;
}

template <class T>
void write_safetensors(const std::string& path, const NamedTensors<T>& tensors, const SafetensorsMetadata& metadata) {
    std::vector<const std::pair<std::string, Tensor<T>>*> sorted;
    for (const auto& named : tensors) {
        const auto& [name, tensor] = named;
        if (name.empty() || name == "__metadata__")
            fail<ValueError>("write_safetensors '{}': '{}' cannot name a tensor", path, name);
        if (!tensor.defined()) fail<ValueError>("write_safetensors '{}': tensor '{}' is undefined", path, name);
        sorted.push_back(&named);
    }
    std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) { return a->first < b->first; });
    for (std::size_t i = 1; i < sorted.size(); ++i) {
        if (sorted[i]->first == sorted[i - 1]->first)
            fail<ValueError>("write_safetensors '{}': the name '{}' is given twice", path, sorted[i]->first);
    }

    // The reference's header: metadata first, then the tensors in the order of their data.
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata.empty()) header["__metadata__"] = metadata;
    std::uint64_t offset = 0;
    for (const auto* named : sorted) {
        const Tensor<T>& tensor = named->second;
        const std::uint64_t bytes = tensor.numel() * sizeof(T);
        nlohmann::ordered_json entry = nlohmann::ordered_json::object();
        entry["dtype"] = sizeof(T) == 4 ? "F32" : "F64";
        entry["shape"] = std::vector<std::uint64_t>(tensor.shape().begin(), tensor.shape().end());
        entry["data_offsets"] = {offset, offset + bytes};
        header[named->first] = std::move(entry);
        offset += bytes;
    }
    std::string text;
    try {
        text = header.dump();
    } catch (const nlohmann::json::exception& e) {
        fail<ValueError>("write_safetensors '{}': a name or metadata string is not valid UTF-8: {}", path, e.what());
    }
    text.append((8 - text.size() % 8) % 8, ' ');

    detail::write_atomically(path, "safetensors", [&](std::FILE* file) {
        const std::uint64_t n = text.size();
        bool ok =
            std::fwrite(&n, sizeof n, 1, file) == 1 && std::fwrite(text.data(), 1, text.size(), file) == text.size();
        for (const auto* named : sorted) {
            const auto& value = named->second.value();
            // An empty tensor's data() may be null, which fwrite must not be given even for 0 items.
            ok = ok && (value.size() == 0 || std::fwrite(value.data(), sizeof(T), value.size(), file) == value.size());
        }
        return ok;
    });
}

template Tensor<float> SafetensorsFile::load<float>(const std::string&) const;
template Tensor<double> SafetensorsFile::load<double>(const std::string&) const;
template NamedTensors<float> read_safetensors<float>(const std::string&);
template NamedTensors<double> read_safetensors<double>(const std::string&);
template void write_safetensors<float>(const std::string&, const NamedTensors<float>&, const SafetensorsMetadata&);
template void write_safetensors<double>(const std::string&, const NamedTensors<double>&, const SafetensorsMetadata&);

}  // namespace tapegrad::data
