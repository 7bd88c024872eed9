/// \file
/// Baselines for character-level language models: unigram and bigram models counted on a
/// CharCorpus's training split, scored on its validation split.
#pragma once

#include <tapegrad/data/text.hpp>

namespace tapegrad::data {

/// A mean cross-entropy per character, in nats and in bits (nats / ln 2).
struct CharCrossEntropy {
    double nats = 0;  ///< mean of -ln p(target)
    double bits = 0;  ///< the same in bits per character
};

/// The unigram model p(c) = (count(c) + k) / (N + k V), counted over the N training bytes (V =
/// vocab_size(); add-k smoothing, k = 1 is Laplace's add-one), scored on the targets a model is
/// scored on: the validation bytes after the first (validation_batches). ValueError when k <= 0
/// or not finite, or the validation split has fewer than 2 bytes.
CharCrossEntropy unigram_cross_entropy(const CharCorpus& corpus, double k = 1);

/// The bigram model p(c | a) = (count(a c) + k) / (count(a) + k V), counted over the N - 1
/// consecutive pairs of the training bytes (count(a) = pairs starting with a; add-k smoothing),
/// scored on each validation byte after the first given the byte before it. Errors as
/// unigram_cross_entropy.
CharCrossEntropy bigram_cross_entropy(const CharCorpus& corpus, double k = 1);

}  // namespace tapegrad::data
