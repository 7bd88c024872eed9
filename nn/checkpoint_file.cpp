#include <tapegrad/nn/checkpoint_file.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <sstream>

namespace tapegrad::nn::detail {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFormat = "tapegrad checkpoint v3";
constexpr const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// RFC 4648 base64 with padding (Python's base64.b64encode): metadata values are JSON strings,
/// which must be UTF-8, and an extra's bytes are anything.
std::string base64(const std::string& bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
        const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
        std::uint32_t v = 0;
        for (std::size_t k = 0; k < 3; ++k) v = v << 8 | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
        for (std::size_t k = 0; k < 4; ++k) out += k <= n ? kAlphabet[(v >> (18 - 6 * k)) & 63] : '=';
    }
    return out;
}

/// The bytes of canonical base64 text (what base64() writes); IoError naming `where` otherwise.
std::string from_base64(const std::string& where, const std::string& text) {
    const auto bad = [&] { fail<IoError>("{}: '{}' is not base64", where, text.substr(0, 40)); };
    if (text.size() % 4 != 0) bad();
    std::string out;
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        std::uint32_t v = 0;
        std::size_t pad = 0;
        for (std::size_t k = 0; k < 4; ++k) {
            const char c = text[i + k];
            const char* at = c == '\0' ? nullptr : std::strchr(kAlphabet, c);
            if (c == '=' && last && k >= 2) {
                ++pad;
            } else if (at == nullptr || pad > 0) {
                bad();
            }
            v = v << 6 | (at ? static_cast<std::uint32_t>(at - kAlphabet) : 0u);
        }
        if ((pad == 1 && (v & 0xff) != 0) || (pad == 2 && (v & 0xffff) != 0)) bad();  // non-canonical bits
        for (std::size_t k = 0; k < 3 - pad; ++k) out += static_cast<char>((v >> (16 - 8 * k)) & 0xff);
    }
    return out;
}

std::unique_ptr<data::SafetensorsFile> open_file(const std::string& path) {
    try {
        return std::make_unique<data::SafetensorsFile>(path);
    } catch (const IoError& e) {
        fail<IoError>("checkpoint '{}': {} (not a tapegrad checkpoint?)", path, e.what());
    }
}

const char* safetensors_dtype(const std::string& dtype) {
    return dtype == "float64" ? "F64" : "F32";
}

}  // namespace

bool is_checkpoint_file_name(const std::string& path) {
    return fs::path(path).filename().string().ends_with(".safetensors");
}

bool is_checkpoint_file(const std::string& path) {
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (fs::is_regular_file(status)) return true;
    return !fs::is_directory(status) && is_checkpoint_file_name(path);
}

data::SafetensorsMetadata file_metadata(const Manifest& m, const CheckpointExtras& extras) {
    data::SafetensorsMetadata meta{{"format", "pt"}, {"checkpoint", kFormat}, {"dtype", m.dtype}};
    std::vector<std::string> buffers;
    for (const auto& b : m.buffers) buffers.push_back(b.name);
    if (!buffers.empty()) meta["buffers"] = fmt::format("{}", fmt::join(buffers, " "));
    if (!m.optimizer.empty()) {
        meta["optimizer"] = m.optimizer;
        meta["optimizer.lr"] = fmt::format("{}", fmt::join(m.lrs, " "));  // shortest form: reads back exactly
    }
    if (!m.schedule.empty()) meta["schedule"] = m.schedule;
    for (const auto& [name, value] : m.schedule_state) meta["schedule." + name] = fmt::format("{}", value);
    for (const auto& [name, bytes] : extras) meta["extra." + name] = base64(bytes);
    return meta;
}

void check_file_target(const std::string& path) {
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (!fs::exists(status)) return;
    bool checkpoint = false;
    if (fs::is_regular_file(status)) {
        try {
            const data::SafetensorsFile file(path);
            const auto format = file.metadata().find("checkpoint");
            checkpoint = format != file.metadata().end() && format->second.starts_with("tapegrad checkpoint");
        } catch (const Error&) {
        }
    }
    if (!checkpoint) fail<IoError>("checkpoint '{}': it exists and is not a checkpoint; refusing to replace it", path);
}

void probe_file_target(const std::string& path) {
    check_file_target(path);
    const fs::path target(path);
    const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec) fail<IoError>("checkpoint '{}': cannot create '{}': {}", path, folder.string(), ec.message());
    // Not named as a save's temporary file, which another process's save may be cleaning up.
    const fs::path probe = folder / fmt::format(".{}.probe-{}", target.filename().string(), ::getpid());
    const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) fail<IoError>("checkpoint '{}': cannot write in '{}': {}", path, folder.string(), std::strerror(errno));
    ::close(fd);
    fs::remove(probe, ec);
}

CheckpointFile::CheckpointFile(const std::string& path) : file_(open_file(path)) {
    const auto& meta = file_->metadata();
    const auto format = meta.find("checkpoint");
    if (format == meta.end() || format->second != kFormat)
        fail<IoError>("checkpoint '{}': its __metadata__ 'checkpoint' is {}, not '{}' (not a tapegrad checkpoint?)",
                      path, format == meta.end() ? "missing" : "'" + format->second.substr(0, 40) + "'", kFormat);
    Manifest& m = manifest_;
    std::set<std::string> buffers;
    for (const auto& [key, value] : meta) {
        const std::string where = fmt::format("checkpoint '{}': __metadata__ '{}'", path, key);
        if (key == "format" || key == "checkpoint") continue;
        if (key == "dtype") {
            if (value != "float32" && value != "float64") fail<IoError>("{}: '{}' is not a dtype", where, value);
            m.dtype = value;
        } else if (key == "buffers") {
            std::istringstream names(value);
            for (std::string name; names >> name;) buffers.insert(name);
        } else if (key == "optimizer") {
            m.optimizer = value;
        } else if (key == "optimizer.lr") {
            std::istringstream lrs(value);
            for (std::string lr; lrs >> lr;) m.lrs.push_back(parse_number(where, lr));
        } else if (key == "schedule") {
            m.schedule = value;
        } else if (key.starts_with("schedule.")) {
            m.schedule_state.emplace_back(key.substr(9), parse_value(where, value));
        } else if (key.starts_with("extra.")) {
            std::string bytes = from_base64(where, value);
            m.extras.push_back({key.substr(6), {bytes.size()}});
            extras_.emplace(key.substr(6), std::move(bytes));
        } else {
            fail<IoError>("{}: not a key of a tapegrad checkpoint", where);
        }
    }
    if (m.dtype.empty()) fail<IoError>("checkpoint '{}': its __metadata__ has no 'dtype'", path);
    if (m.optimizer.empty() && meta.count("optimizer.lr"))
        fail<IoError>("checkpoint '{}': its __metadata__ has an 'optimizer.lr' but no 'optimizer'", path);
    if (m.schedule.empty() && !m.schedule_state.empty())
        fail<IoError>("checkpoint '{}': its __metadata__ has 'schedule.{}' but no 'schedule'", path,
                      m.schedule_state.front().first);
    for (const auto& e : file_->entries()) {
        if (e.name.starts_with("model.")) {
            const std::string name = e.name.substr(6);
            (buffers.erase(name) ? m.buffers : m.parameters).push_back({name, e.shape});
        } else if (e.name.starts_with("optimizer.") && !m.optimizer.empty()) {
            m.state.push_back({e.name.substr(10), e.shape});
        } else {
            fail<IoError>("checkpoint '{}': tensor '{}' is not part of a tapegrad checkpoint ({})", path, e.name,
                          e.name.starts_with("optimizer.") ? "optimizer state, but no __metadata__ 'optimizer'"
                                                           : "its key starts with neither 'model.' nor 'optimizer.'");
        }
    }
    if (!buffers.empty())
        fail<IoError>("checkpoint '{}': buffer '{}' is in its __metadata__ 'buffers' but no tensor 'model.{}' holds it",
                      path, *buffers.begin(), *buffers.begin());
}

template <class T>
xt::xarray<T> CheckpointFile::read(const char* kind, const std::string& name, const std::string& key,
                                   const Shape& expected) const {
    const data::SafetensorsEntry& e = file_->entry(key);
    const char* dtype = safetensors_dtype(dtype_name<T>());
    if (e.dtype != dtype)
        fail<IoError>("checkpoint '{}': {} '{}': tensor '{}' is {}, expected {}", file_->path(), kind, name, key,
                      e.dtype, dtype);
    if (e.shape != expected)
        fail<IoError>("checkpoint '{}': {} '{}': tensor '{}' has shape {}, expected {}", file_->path(), kind, name, key,
                      shape_str(e.shape), shape_str(expected));
    return file_->load<T>(key).value();
}

template xt::xarray<float> CheckpointFile::read<float>(const char*, const std::string&, const std::string&,
                                                       const Shape&) const;
template xt::xarray<double> CheckpointFile::read<double>(const char*, const std::string&, const std::string&,
                                                         const Shape&) const;

}  // namespace tapegrad::nn::detail
