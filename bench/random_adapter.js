// A PEFT LoRA adapter directory of random factors for a base's config.json,
// the shape `josi train` writes (r 16, alpha 32, the seven projections):
// random weights cannot show what training learns, but the adapter's size,
// memory and cost per token are those of a trained one.
//   node bench/random_adapter.js CONFIG.json OUT_DIR SEED
const fs = require("fs");
const path = require("path");
const [configPath, out, seedText] = process.argv.slice(2);
const c = JSON.parse(fs.readFileSync(configPath, "utf8"));
const h = c.hidden_size, ff = c.intermediate_size, hd = h / c.num_attention_heads;
const q = c.num_attention_heads * hd, kv = c.num_key_value_heads * hd, r = 16;
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
fs.writeFileSync(path.join(out, "adapter_config.json"), JSON.stringify({
  peft_type: "LORA", task_type: "CAUSAL_LM", r, lora_alpha: 32, lora_dropout: 0.05, bias: "none",
  target_modules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
  base_model_name_or_path: path.dirname(configPath), fan_in_fan_out: false, inference_mode: true,
}, null, 2));
