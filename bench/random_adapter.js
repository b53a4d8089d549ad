// A PEFT LoRA adapter directory of random factors for a base's config.json
// (Qwen2, Qwen3 or llama), written from PEFT's published key names and
// adapter_config.json fields without any of Josi's code, in the shape
// `josi train` writes (r 16, alpha 32 by default; the users' Qwen3 recipe is
// r 32, alpha 64; the seven projections): random weights cannot show what
// training learns, but the adapter's size, memory and cost per token are
// those of a trained one, and the tests use it as an adapter Josi did not write.
//   node bench/random_adapter.js CONFIG.json OUT_DIR SEED [R ALPHA]
const fs = require("fs");
const path = require("path");
const [configPath, out, seedText, rText, alphaText] = process.argv.slice(2);
const c = JSON.parse(fs.readFileSync(configPath, "utf8"));
// Qwen3 states its head size (128); the others imply it.
const h = c.hidden_size, ff = c.intermediate_size, hd = c.head_dim ?? h / c.num_attention_heads;
const q = c.num_attention_heads * hd, kv = c.num_key_value_heads * hd;
const r = Number(rText ?? 16), alpha = Number(alphaText ?? 2 * r);
const modules = [["self_attn.q_proj", h, q], ["self_attn.k_proj", h, kv], ["self_attn.v_proj", h, kv],
  ["self_attn.o_proj", q, h], ["mlp.gate_proj", h, ff], ["mlp.up_proj", h, ff], ["mlp.down_proj", ff, h]];
let state = Number(seedText) >>> 0 || 1;
const uniform = () => ((state = (state * 1664525 + 1013904223) >>> 0) / 4294967296) - 0.5;  // LCG: reproducible
const header = {}, chunks = [];
let offset = 0;
for (let layer = 0; layer < c.num_hidden_layers; ++layer) {
  for (const [name, inF, outF] of modules) {
    const key = `base_model.model.model.layers.${layer}.${name}`;
    for (const [factor, shape, scale] of [["lora_A", [r, inF], 0.02], ["lora_B", [outF, r], 0.01]]) {
      const data = new Float32Array(shape[0] * shape[1]);
      for (let i = 0; i < data.length; ++i) data[i] = uniform() * scale;
      header[`${key}.${factor}.weight`] = { dtype: "F32", shape, data_offsets: [offset, offset + data.byteLength] };
      offset += data.byteLength;
      chunks.push(Buffer.from(data.buffer));
    }
  }
}
let json = JSON.stringify(header);
json += " ".repeat((8 - (json.length % 8)) % 8);
const length = Buffer.alloc(8);
length.writeBigUInt64LE(BigInt(json.length));
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, "adapter_model.safetensors"), Buffer.concat([length, Buffer.from(json), ...chunks]));
// The fields PEFT's LoraConfig saves, Josi's reader ignoring those it does not use.
fs.writeFileSync(path.join(out, "adapter_config.json"), JSON.stringify({
  alpha_pattern: {}, auto_mapping: null, base_model_name_or_path: path.dirname(configPath), bias: "none",
  fan_in_fan_out: false, inference_mode: true, init_lora_weights: true, layer_replication: null,
  layers_pattern: null, layers_to_transform: null, loftq_config: {}, lora_alpha: alpha, lora_dropout: 0.05,
  megatron_config: null, megatron_core: "megatron.core", modules_to_save: null, peft_type: "LORA", r,
  rank_pattern: {}, revision: null,
  target_modules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
  task_type: "CAUSAL_LM", use_dora: false, use_rslora: false,
}, null, 2));
