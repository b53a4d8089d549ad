#pragma once
// The data a byte-level BPE tokenizer is built from, however it was stored:
// a Hugging Face tokenizer.json or the tokenizer.ggml.* keys of a GGUF file.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace josi::formats {
class GgufFile;
}

namespace josi::text {

enum class TokenType : int32_t { normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6 };

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool special = true;  // control tokens (<|im_start|>); false for user-defined ones (<tool_call>)
};

struct Vocabulary {
  // Token strings by id in the GPT-2 byte-to-unicode alphabet ("Ġthe"), added
  // tokens at their ids as plain text; rows past the last token may be
  // padding ("[PAD151665]", TokenType::unused) when a model pads its embedding.
  std::vector<std::string> tokens;
  std::vector<TokenType> types;     // one per token
  std::vector<std::string> merges;  // "a b" in rank order
  std::vector<AddedToken> added;    // sorted by id
  std::string pre;                  // pre-tokenizer name: "qwen2"
};

// Throws josi::Error naming the file: not BPE, missing vocab or merges,
// ids out of range or duplicated, a pre-tokenizer this project does not know.
Vocabulary vocabulary_from_tokenizer_json(const std::filesystem::path& path);
// From tokenizer.ggml.model/pre/tokens/token_type/merges; throws naming the key.
Vocabulary vocabulary_from_gguf(const formats::GgufFile& file);
// The GGUF keys vocabulary_from_gguf reads its arrays from.
extern const char* const kGgufVocabularyArrays[3];

// A checksum of everything that decides the ids: two models whose
// vocabularies have the same fingerprint tokenize alike.
uint64_t fingerprint(const Vocabulary& vocabulary);

}  // namespace josi::text
