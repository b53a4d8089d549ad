#pragma once
// Whole directories (checkpoints, adapters, merged models) are assembled under
// a temporary name and swapped into place, so a killed run never leaves a
// half-written one under its final name. Removal walks the tree with POSIX
// nftw rather than std::filesystem::remove_all, which crashed inside
// processes that load a PyTorch installation's CUDA libtorch.
#include <filesystem>

namespace josi::base {

// Removes `dir` and everything in it; nothing happens when it is absent.
// Throws josi::Error (io) naming the path on failure.
void remove_tree(const std::filesystem::path& dir);

// Replaces `final` (if present) by the complete directory `temp`.
void replace_tree(const std::filesystem::path& temp, const std::filesystem::path& final);

}  // namespace josi::base
