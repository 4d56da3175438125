#!/usr/bin/env python3
"""Writes a tiny, hand-built llama-architecture GGUF whose output is fixed.

No weights can be downloaded here, so this is not a trained model: it is a
"bigram chain". The residual stream of a token is its one-hot embedding,
attention and feed-forward add nothing (their output projections are zero),
so the logits depend only on the last token, and output.weight maps every
token to its successor with a margin of about 100 logits:

    any token that is not a piece (bytes, <s>, control tokens) -> piece 0
    piece k -> piece k+1
    last piece -> <|im_end|> (end of generation)

Whatever the prompt (it ends in "<|im_start|>assistant\\n", a byte token),
sampling at any sane temperature yields ANSWER_PIECES in order, one token
each, then stops. The pieces are SentencePiece-style ("\u2581" = space).

Usage (inside a Debian sid chroot with python3-gguf and python3-numpy):
    python3 make_model.py OUT.gguf OUT.json [--think]
OUT.json gets the answer, its pieces and the vocabulary size. With --think
the model is a "thinking" one: THINK_PIECES ("<think>...</think>") come
first, as a reasoning model served without a reasoning parser writes them.
"""
import json
import sys

import numpy as np
import gguf

SP = "\u2581"

# The answer, cut by hand into tokens. Every piece is unique and at least 3
# characters long, so llama.cpp's SPM tokenizer can never build one out of
# prompt text (it only merges pairs whose concatenation is in the vocabulary,
# starting from single characters): the prompt becomes byte tokens.
# "[7]" is deliberately out of range (coachd is given at most 5 passages)
# and split over two tokens ("tor [" + "7]."), so coachd must remove a marker
# that arrives in two deltas.
ANSWER_PIECES = [
    "Bedtime", SP + "stalling", SP + "is" + SP + "very", SP + "common,", SP + "and",
    SP + "you", SP + "are", SP + "doing", SP + "well", SP + "to" + SP + "ask.", "\n\n1.",
    SP + "Build", SP + "the" + SP + "usual", SP + "requests", SP + "into",
    SP + "the" + SP + "routine:", SP + "a" + SP + "last", SP + "drink", SP + "and" + SP + "a",
    SP + "toilet", SP + "trip", SP + "before", SP + "the" + SP + "final", SP + "book",
    SP + "[1].", "\n2.",
    SP + "Read", SP + "one" + SP + "short", SP + "book" + SP + "together", SP + "at" + SP + "the",
    SP + "same", SP + "point", SP + "each", SP + "night", SP + "[2].", "\n3.",
    SP + "Offer", SP + "two", SP + "small", SP + "choices", SP + "that", SP + "both",
    SP + "end", SP + "in" + SP + "bed,", SP + "such", SP + "as" + SP + "which", SP + "pyjamas",
    SP + "to" + SP + "wear", SP + "[1]", ".\n\n",
    "**When", SP + "to" + SP + "get", SP + "help:**", SP + "If", SP + "your", SP + "child",
    SP + "often", SP + "lies", SP + "awake", SP + "for", SP + "over", SP + "an" + SP + "hour",
    SP + "or" + SP + "seems", SP + "anxious", SP + "about", SP + "sleep,", SP + "talk",
    SP + "with", SP + "your" + SP + "child's", SP + "doc", "tor" + SP + "[", "7].",
]

# What a thinking model writes before its answer (with a dose-like number,
# which must never reach a parent either way).
THINK_PIECES = [
    "<think>", "\nThe" + SP + "parent", SP + "asks" + SP + "about", SP + "bedtime;",
    SP + "maybe" + SP + "5" + SP + "ml" + SP + "of" + SP + "melatonin?", "\n</think>\n\n",
]

# ChatML, strict: a system message anywhere but first is an error, as in
# several Mistral and Gemma templates. llama-server renders it with its own
# Jinja engine (--jinja).
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' and not loop.first -%}"
    "{{- raise_exception('System message must be the first message, and there can be only one') -}}"
    "{%- endif -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)

N_HEAD = 4
N_FF = 64
N_CTX = 32768
MARGIN = 5.0   # times sqrt(n_embd) after the final RMS norm: ~100 logits


def check_pieces(pieces):
    seen = set()
    for p in pieces:
        if len(p) < 3:
            raise SystemExit(f"piece {p!r} is shorter than 3 characters")
        if p in seen:
            raise SystemExit(f"piece {p!r} appears twice; merge it with a neighbour")
        if p.startswith("<") and p.endswith(">") and p not in ("<think>",):
            raise SystemExit(f"piece {p!r} looks like a special token")
        seen.add(p)


def main():
    out_gguf, out_json = sys.argv[1], sys.argv[2]
    think = sys.argv[3:] == ["--think"]
    pieces = (THINK_PIECES if think else []) + ANSWER_PIECES
    check_pieces(pieces)

    tokens, types = [], []

    def add(text, ttype):
        tokens.append(text)
        types.append(ttype)
        return len(tokens) - 1

    T = gguf.TokenType
    unk = add("<unk>", T.UNKNOWN)
    bos = add("<s>", T.CONTROL)
    eos2 = add("</s>", T.CONTROL)
    for b in range(256):
        add(f"<0x{b:02X}>", T.BYTE)
    im_start = add("<|im_start|>", T.CONTROL)
    im_end = add("<|im_end|>", T.CONTROL)
    first_piece = len(tokens)
    for p in pieces:
        add(p, T.NORMAL)
    n_vocab = len(tokens)
    n_embd = ((n_vocab + 63) // 64) * 64

    # Embedding: one-hot. numpy shapes are (rows = ggml ne[1], cols = ne[0]).
    emb = np.zeros((n_vocab, n_embd), dtype=np.float32)
    emb[np.arange(n_vocab), np.arange(n_vocab)] = 1.0

    # output.weight[j][i]: logit of token j when the last token is i.
    out = np.zeros((n_vocab, n_embd), dtype=np.float32)
    for i in range(n_vocab):
        if i >= first_piece:
            k = i - first_piece
            nxt = first_piece + k + 1 if k + 1 < len(pieces) else im_end
        else:
            nxt = first_piece
        out[nxt, i] = MARGIN

    w = gguf.GGUFWriter(out_gguf, "llama")
    w.add_name("coachd bigram chain (hand-built, untrained)")
    w.add_context_length(N_CTX)
    w.add_embedding_length(n_embd)
    w.add_block_count(1)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD)
    w.add_rope_dimension_count(n_embd // N_HEAD)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)

    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores([0.0] * n_vocab)
    w.add_token_types([int(t) for t in types])
    w.add_unk_token_id(unk)
    w.add_bos_token_id(bos)
    w.add_eos_token_id(im_end)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_add_space_prefix(False)
    w.add_chat_template(CHAT_TEMPLATE)

    z = lambda *shape: np.zeros(shape, dtype=np.float32)
    ones = lambda n: np.ones((n,), dtype=np.float32)
    w.add_tensor("token_embd.weight", emb)
    w.add_tensor("blk.0.attn_norm.weight", ones(n_embd))
    w.add_tensor("blk.0.attn_q.weight", z(n_embd, n_embd))
    w.add_tensor("blk.0.attn_k.weight", z(n_embd, n_embd))
    w.add_tensor("blk.0.attn_v.weight", z(n_embd, n_embd))
    w.add_tensor("blk.0.attn_output.weight", z(n_embd, n_embd))
    w.add_tensor("blk.0.ffn_norm.weight", ones(n_embd))
    w.add_tensor("blk.0.ffn_gate.weight", z(N_FF, n_embd))
    w.add_tensor("blk.0.ffn_up.weight", z(N_FF, n_embd))
    w.add_tensor("blk.0.ffn_down.weight", z(n_embd, N_FF))
    w.add_tensor("output_norm.weight", ones(n_embd))
    w.add_tensor("output.weight", out)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    del eos2

    answer = "".join(ANSWER_PIECES).replace(SP, " ")
    thought = "".join(THINK_PIECES).replace(SP, " ") if think else ""
    with open(out_json, "w", encoding="utf-8") as f:
        json.dump({"answer": answer, "thought": thought,
                   "pieces": [p.replace(SP, " ") for p in pieces],
                   "n_vocab": n_vocab, "n_embd": n_embd, "n_ctx_train": N_CTX}, f,
                  ensure_ascii=False, indent=1)
    print(f"wrote {out_gguf}: {n_vocab} tokens ({len(pieces)} answer pieces), "
          f"n_embd {n_embd}, 1 layer")


if __name__ == "__main__":
    main()
