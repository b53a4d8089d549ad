#pragma once
// Each subcommand lives in its own file and registers itself on the app.
#include <CLI/CLI.hpp>

namespace josi::cli {

void register_data(CLI::App& app);                // josi data validate
void register_prepare_sequential(CLI::App& app);  // josi prepare-sequential
void register_coach(CLI::App& app);               // josi coach <filter>
void register_tokenize(CLI::App& app);            // josi tokenize
void register_gguf(CLI::App& app);                // josi gguf info / set-version
void register_init_base(CLI::App& app);           // josi init-base
void register_export_gguf(CLI::App& app);         // josi export-gguf
void register_quantize(CLI::App& app);            // josi quantize
void register_train(CLI::App& app);               // josi train
void register_merge(CLI::App& app);               // josi merge
void register_publish(CLI::App& app);             // josi publish
void register_download(CLI::App& app);            // josi download
void register_generate(CLI::App& app);            // josi generate
void register_logits(CLI::App& app);              // josi logits
void register_bench(CLI::App& app);               // josi bench
void register_chat(CLI::App& app);                // josi chat
void register_sanity(CLI::App& app);              // josi sanity
void register_eval(CLI::App& app);                // josi eval
void register_knowledge(CLI::App& app);           // josi knowledge check / select / show / bench

// The exit code of the subcommand that ran (0 unless it set one).
int exit_code();
void set_exit_code(int code);

}  // namespace josi::cli
