#include <tapegrad/data/text.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include <tapegrad/autograd/errors.hpp>

namespace tapegrad::data {
namespace {

Indices windows(const std::vector<std::int64_t>& tokens, const std::vector<std::size_t>& starts, std::size_t block,
                std::size_t shift) {
    auto ids = xt::xarray<std::int64_t>::from_shape({starts.size(), block});
    std::int64_t* out = ids.data();
    for (const std::size_t start : starts)
        out = std::copy_n(tokens.begin() + std::ptrdiff_t(start + shift), block, out);
    return Indices(std::move(ids));
}

TextBatch make_batch(const std::vector<std::int64_t>& tokens, const std::vector<std::size_t>& starts,
                     std::size_t block) {
    return {windows(tokens, starts, block, 0), windows(tokens, starts, block, 1)};
}

std::string read_bytes(const std::string& path, const char* what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail<IoError>("{} '{}': cannot open", what, path);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) fail<IoError>("{} '{}': read error", what, path);
    return bytes;
}

}  // namespace

CharCorpus::CharCorpus(std::string text, std::string name, double validation_fraction) : name_(std::move(name)) {
    if (text.empty()) fail<ValueError>("CharCorpus '{}': the text is empty", name_);
    if (!(validation_fraction >= 0 && validation_fraction < 1))
        fail<ValueError>("CharCorpus '{}': validation_fraction is {}; expected a value in [0, 1)", name_,
                         validation_fraction);
    std::array<bool, 256> seen{};
    for (const char c : text) seen[static_cast<unsigned char>(c)] = true;
    id_of_.fill(-1);
    for (std::size_t b = 0; b < seen.size(); ++b)
        if (seen[b]) {
            id_of_[b] = static_cast<std::int64_t>(vocabulary_.size());
            vocabulary_.push_back(static_cast<char>(b));
        }
    tokens_.reserve(text.size());
    for (const char c : text) tokens_.push_back(id_of_[static_cast<unsigned char>(c)]);
    const auto validation = static_cast<std::size_t>(std::floor(double(text.size()) * validation_fraction));
    train_size_ = text.size() - validation;
}

CharCorpus CharCorpus::from_file(const std::string& path, double validation_fraction) {
    std::string text = read_bytes(path, "text file");
    if (text.empty()) fail<IoError>("text file '{}': the file is empty", path);
    return CharCorpus(std::move(text), path, validation_fraction);
}

Indices CharCorpus::encode(std::string_view text) const {
    auto ids = xt::xarray<std::int64_t>::from_shape({text.size()});
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto byte = static_cast<unsigned char>(text[i]);
        if (id_of_[byte] < 0)
            fail<ValueError>("CharCorpus '{}': encode: byte {} (0x{:02x}) at position {} is not in the vocabulary",
                             name_, int(byte), int(byte), i);
        ids.data()[i] = id_of_[byte];
    }
    return Indices(std::move(ids));
}

std::string CharCorpus::decode(const Indices& ids) const {
    std::string text;
    text.reserve(ids.numel());
    for (const std::int64_t id : ids) {
        if (id < 0 || std::size_t(id) >= vocabulary_.size())
            fail<IndexError>("CharCorpus '{}': decode: token id {} is outside [0, {})", name_, id, vocabulary_.size());
        text.push_back(vocabulary_[std::size_t(id)]);
    }
    return text;
}

TextBatch CharCorpus::batch(Generator& gen, std::size_t rows, std::size_t block) const {
    if (rows == 0 || block == 0)
        fail<ValueError>("CharCorpus '{}': batch: rows ({}) and block ({}) must be positive", name_, rows, block);
    if (train_size_ < block + 1)
        fail<ValueError>(
            "CharCorpus '{}': batch: the training split has {} bytes, fewer than block + 1 = {} (text of {} bytes, "
            "validation {})",
            name_, train_size_, block + 1, size(), validation_size());
    std::vector<std::size_t> starts(rows);
    for (auto& start : starts) start = static_cast<std::size_t>(gen.below(train_size_ - block));
    return make_batch(tokens_, starts, block);
}

std::vector<TextBatch> CharCorpus::validation_batches(std::size_t rows, std::size_t block) const {
    if (rows == 0 || block == 0)
        fail<ValueError>("CharCorpus '{}': validation_batches: rows ({}) and block ({}) must be positive", name_, rows,
                         block);
    const std::size_t n = validation_size();
    if (n < 2)
        fail<ValueError>(
            "CharCorpus '{}': validation_batches: the validation split has {} bytes; at least 2 are needed (text of "
            "{} bytes)",
            name_, n, size());
    // The split on its own: windows never reach back into the training bytes.
    const std::vector<std::int64_t> split(tokens_.begin() + std::ptrdiff_t(train_size_), tokens_.end());
    const std::size_t full = (n - 1) / block, rest = (n - 1) % block;
    std::vector<TextBatch> batches;
    for (std::size_t first = 0; first < full; first += rows) {
        std::vector<std::size_t> starts;
        for (std::size_t k = first; k < std::min(full, first + rows); ++k) starts.push_back(k * block);
        batches.push_back(make_batch(split, starts, block));
    }
    if (rest > 0) batches.push_back(make_batch(split, {full * block}, rest));
    return batches;
}

std::string read_fortunes(const std::string& folder) {
    namespace fs = std::filesystem;
    std::error_code error;
    if (!fs::is_directory(folder, error))
        fail<IoError>("fortunes folder '{}': not a directory (apt-get install fortunes)", folder);
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(folder, error))
        if (entry.is_regular_file() && !entry.is_symlink() && entry.path().extension() != ".dat")
            files.push_back(entry.path());
    if (error) fail<IoError>("fortunes folder '{}': cannot list: {}", folder, error.message());
    if (files.empty()) fail<IoError>("fortunes folder '{}': no fortune files (apt-get install fortunes)", folder);
    std::sort(files.begin(), files.end());
    std::string text;
    for (const auto& file : files) {
        const std::string fortunes = read_bytes(file.string(), "fortune file");
        if (fortunes.empty()) continue;
        text += fortunes;
        if (text.back() != '\n') text += '\n';
        if (!text.ends_with("\n%\n") && text != "%\n") text += "%\n";
    }
    return text;
}

CharCorpus load_fortunes(const std::string& folder, double validation_fraction) {
    return CharCorpus(read_fortunes(folder), folder, validation_fraction);
}

}  // namespace tapegrad::data
