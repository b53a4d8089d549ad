#!/usr/bin/env python3
"""The reference for the training benchmark: transformers + PEFT on the same
GPU, base model and data as `josi train`, with the seed's recipe (LoRA r 16,
alpha 32, dropout 0.05 on the seven projections; bf16; gradient
checkpointing; fused AdamW; batch 4 x accumulation 4; 2,048 tokens;
completion-only labels). Prints one JSON line: tokens/s over the steps after
the first, and peak GPU memory.
Usage: peft_baseline.py MODEL_DIR DATA.jsonl STEPS"""
import json
import sys
import time

import peft
import torch
import transformers
from tokenizers import Tokenizer

BATCH, ACCUM, MAX_LEN = 4, 4, 2048
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def encode(tokenizer, example, im_end):
    """ChatML prompt and completion ids, cut as the seed (and josi) cut them."""
    messages = example["messages"]
    prompt = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages[:-1])
    prompt_ids = tokenizer.encode(prompt + "<|im_start|>assistant\n", add_special_tokens=False).ids
    completion = tokenizer.encode(messages[-1]["content"], add_special_tokens=False).ids + [im_end]
    room = MAX_LEN - len(prompt_ids)
    if room <= 10:
        return None
    ids = prompt_ids + completion[:room]
    return ids, [-100] * len(prompt_ids) + ids[len(prompt_ids):]


def main() -> None:
    model_dir, data_path, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    tokenizer = Tokenizer.from_file(f"{model_dir}/tokenizer.json")
    im_end, pad = tokenizer.token_to_id("<|im_end|>"), tokenizer.token_to_id("<|endoftext|>")
    rows = [r for r in (encode(tokenizer, json.loads(line), im_end) for line in open(data_path)) if r]

    model = transformers.AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.bfloat16,
                                                              attn_implementation="sdpa").cuda()
    model.config.use_cache = False
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model = peft.get_peft_model(model, peft.LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules=TARGETS,
                                                       bias="none", task_type="CAUSAL_LM"))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=5e-5, weight_decay=0.0, fused=True)
    model.train()

    def batch(index):
        chosen = [rows[(index * BATCH + k) % len(rows)] for k in range(BATCH)]
        length = max(len(ids) for ids, _ in chosen)
        ids = torch.tensor([ids + [pad] * (length - len(ids)) for ids, _ in chosen])
        labels = torch.tensor([lab + [-100] * (length - len(lab)) for _, lab in chosen])
        mask = torch.tensor([[1] * len(ids_) + [0] * (length - len(ids_)) for ids_, _ in chosen])
        return ids.cuda(), labels.cuda(), mask.cuda()

    times, tokens, micro = [], [], 0
    for _ in range(steps):
        torch.cuda.synchronize()
        start = time.perf_counter()
        step_tokens = 0
        for _ in range(ACCUM):
            ids, labels, mask = batch(micro)
            micro += 1
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss / ACCUM
            loss.backward()
            step_tokens += int(mask.sum())
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
        tokens.append(step_tokens)
    free, total = torch.cuda.mem_get_info()
    timed = slice(1, None) if steps > 1 else slice(None)
    print(json.dumps({
        "tokens_per_second": sum(tokens[timed]) / sum(times[timed]),
        "step_seconds": [round(t, 3) for t in times],
        "tokens_per_step": tokens[0],
        "peak_allocated_bytes": torch.cuda.max_memory_allocated(),
        "peak_reserved_bytes": torch.cuda.max_memory_reserved(),
        "device_used_bytes": total - free,
        "last_loss": float(loss.detach()) * ACCUM,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__},
    }))


if __name__ == "__main__":
    main()
