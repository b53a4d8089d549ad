#pragma once
// The release pipeline behind `josi publish` (the seed's publish_models.py):
// per role, a LoRA adapter or merged model -> merge -> GGUF F16 -> the
// quantized GGUF (or a ready GGUF file), then the seed's sanity checks on
// that very file, and only when both models pass, the manifest and the
// upload (manifest last). Everything that can be wrong with the input is
// found before the long work starts; a model that fails its checks is never
// uploaded.
//
// The adapters shape ships the quantized base once and each role as its LoRA
// adapter in F16 (josi-v5-<role>-lora-f16.gguf), each checked against the
// base and gated on base + adapter, the way the app runs them.
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "ship/manifest.hpp"
#include "ship/object_upload.hpp"
#include "ship/publisher.hpp"
#include "ship/s3_client.hpp"

namespace josi::release {

struct RoleSource {
  std::string role;                  // "interpreter" | "explainer"
  std::filesystem::path model_dir;   // a LoRA adapter or a merged model directory, or
  std::filesystem::path gguf;        // a ready GGUF file (in the adapters shape, a GGUF LoRA adapter)
};

struct ReleaseOptions {
  std::vector<RoleSource> sources;   // each role once
  ship::ShipShape ship = ship::ShipShape::merged;
  std::filesystem::path base_gguf;   // adapters shape: a ready base GGUF; empty: built from the adapters' base
  std::string quant = "Q4_K_M";      // what built files become (in the adapters shape, the base)
  bool quant_given = false;          // ready files must then be of that quant
  std::filesystem::path base_model;  // of the adapters; empty: their base_model_name_or_path
  std::filesystem::path output_dir = "models/gguf";
  bool keep_f16 = false;
  bool skip_sanity = false;          // ship without the checks; the manifest says "skipped"
  // The v6 gate's data (docs/release_checks.md): the validation split whose
  // targets each role's eval_loss is measured on (required for v6 models),
  // and the knowledge-fidelity cases run on the files that ship (optional).
  std::filesystem::path eval_data, criteria;
  std::string preset;                // "v5" | "v6" written into built files; "": each training run's
  std::filesystem::path knowledge;   // coaching cards shipped beside the models, checked first; empty: none
  size_t threads = 0;                // for the checks; 0: all cores
  std::string public_url = std::string(ship::kDefaultPublicUrl);
  std::optional<ship::S3Config> upload;  // none: build and check only (--no-upload)
  ship::UploadOptions upload_options;
};

struct ReleaseResult {
  std::vector<ship::PublishFile> files;  // the base first, in the adapters shape
  ship::Manifest manifest;
  std::optional<std::filesystem::path> local_manifest;  // written when files were built or nothing was uploaded
};

// Prints a line per step (and the sanity tables) on `out`. Throws
// josi::Error (one line) for bad input, a failed step or a model that
// fails its checks; then nothing has been uploaded.
ReleaseResult publish_release(const ReleaseOptions& options, std::ostream& out);

// The quant name ("q4_k_m") of a GGUF's general.file_type.
std::string quant_of(const std::filesystem::path& gguf);

}  // namespace josi::release
