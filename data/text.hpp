/// \file
/// Character-level text corpora for language models: a byte vocabulary, a train/validation split,
/// random training windows drawn from a seeded Generator and fixed validation windows; and the
/// Debian `fortunes` corpus.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <tapegrad/autograd/plain_tensor.hpp>
#include <tapegrad/autograd/random.hpp>

namespace tapegrad::data {

/// A language-model batch: inputs `x` and targets `y`, both Indices [rows, block] of token ids,
/// where y[r][t] = x[r][t + 1] for t < block - 1 and y[r][block - 1] is the character after the
/// window (torch's `x, y = data[i:i+block], data[i+1:i+block+1]`).
struct TextBatch {
    Indices x;  ///< [rows, block] input token ids
    Indices y;  ///< [rows, block] target token ids: x shifted left by one
};

/// A text held as bytes, its vocabulary and its split into training and validation parts.
///
/// Characters are bytes: the vocabulary is the sorted distinct bytes of the whole text (train and
/// validation), so UTF-8 stays as its bytes (a multi-byte character is several tokens) and every
/// validation byte has an id. The validation split is the last `floor(size * validation_fraction)`
/// bytes, the training split the bytes before it (no shuffling: no window straddles the two).
///
/// Training windows start at offsets drawn with `gen.below(train_size() - block)`, one per row, in
/// row order, so one seed fixes the data order exactly, in tapegrad and in a LibTorch program
/// that uses this class (bench/libtorch_char_model.cpp).
class CharCorpus {
public:
    /// The corpus of `text`; `name` (a file name) appears in error messages. Throws ValueError when
    /// the text is empty or `validation_fraction` is outside [0, 1).
    explicit CharCorpus(std::string text, std::string name = "text", double validation_fraction = 0.1);

    /// Reads the file's bytes. Throws IoError naming the file when it cannot be read or is empty.
    static CharCorpus from_file(const std::string& path, double validation_fraction = 0.1);

    /// The source's name (a path, or "text").
    const std::string& name() const noexcept { return name_; }
    /// The vocabulary: the sorted distinct bytes; token id i is byte vocabulary()[i].
    const std::string& vocabulary() const noexcept { return vocabulary_; }
    /// The number of distinct bytes.
    std::size_t vocab_size() const noexcept { return vocabulary_.size(); }
    /// Token ids of `text`, 1-d; ValueError naming the byte when it is not in the vocabulary.
    Indices encode(std::string_view text) const;
    /// The bytes of token ids (any shape, row-major); IndexError for an id outside [0, vocab_size()).
    std::string decode(const Indices& ids) const;

    /// Bytes in the whole text.
    std::size_t size() const noexcept { return tokens_.size(); }
    /// Bytes in the training split (the first size() - validation_size()).
    std::size_t train_size() const noexcept { return train_size_; }
    /// Bytes in the validation split (the last floor(size() * validation_fraction)).
    std::size_t validation_size() const noexcept { return tokens_.size() - train_size_; }
    /// The whole text's token ids; the training split is the first train_size() of them.
    const std::vector<std::int64_t>& tokens() const noexcept { return tokens_; }

    /// `rows` training windows of `block` tokens, the offset of row r drawn by the r-th call of
    /// `gen.below(train_size() - block)`. Throws ValueError (nothing drawn) when rows or block is
    /// 0 or the training split is shorter than block + 1, naming the corpus and the sizes.
    TextBatch batch(Generator& gen, std::size_t rows, std::size_t block) const;

    /// The validation split in consecutive windows: window k has inputs v[k*block .. k*block+block-1]
    /// and targets one further, for k < (n - 1) / block (n = validation_size()), and a last shorter
    /// window takes the remaining targets, so every validation byte after the first is a target
    /// exactly once. Full windows are grouped `rows` to a batch, in order; the short window is a
    /// batch of its own ([1, length]). Average the per-token losses over all targets
    /// (validation_size() - 1), not the per-batch means. ValueError when rows or block is 0 or the
    /// split has fewer than 2 bytes.
    std::vector<TextBatch> validation_batches(std::size_t rows, std::size_t block) const;

private:
    std::string name_;
    std::string vocabulary_;
    std::array<std::int64_t, 256> id_of_{};  // byte -> id, -1 for bytes not in the text
    std::vector<std::int64_t> tokens_;
    std::size_t train_size_ = 0;
};

/// Where Debian's `fortunes` package installs its fortune files.
inline constexpr const char* kFortunesDir = "/usr/share/games/fortunes";

/// The text of every fortune file in `folder` (Debian's `fortunes`: about 2.5 MB of English),
/// concatenated in sorted file-name order. Read: regular files only, skipping the `.dat` indexes
/// (binary) and symbolic links (the `.u8` names link to the same files); subfolders are ignored.
/// The "%" lines that end each fortune are kept, a natural end-of-fortune token; a file whose text
/// does not end with a "%" line gets one (and a newline first if missing), so fortunes of
/// consecutive files stay apart. Bytes are kept as they are (UTF-8, and a few backspaces of
/// overstruck text). Throws IoError when the folder is missing or holds no fortune file.
std::string read_fortunes(const std::string& folder = kFortunesDir);

/// The fortunes corpus (read_fortunes) split as CharCorpus does; its name is the folder.
CharCorpus load_fortunes(const std::string& folder = kFortunesDir, double validation_fraction = 0.1);

}  // namespace tapegrad::data
