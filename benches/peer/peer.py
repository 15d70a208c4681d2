#!/usr/bin/env python3
"""The Python stack VaultIQ is compared with, timed on the same inputs.

Usage: peer.py DATA_DIR MODEL_DIR
DATA_DIR holds mixed-10mb.txt and passages-1000.json (written by the
`bench-data` binary). Prints one JSON line with medians.
"""
import json
import statistics
import sys
import time


def median_seconds(fn, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    data_dir, model_dir = sys.argv[1], sys.argv[2]
    text = open(f"{data_dir}/mixed-10mb.txt", encoding="utf-8").read()
    passages = json.load(open(f"{data_dir}/passages-1000.json", encoding="utf-8"))

    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    splitter.split_text(text)  # warm-up
    chunk_s = median_seconds(lambda: splitter.split_text(text), 3)

    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(2)
    model = SentenceTransformer(model_dir, device="cpu")
    model.max_seq_length = 256
    model.encode(passages, batch_size=32)  # warm-up
    embed_s = median_seconds(lambda: model.encode(passages, batch_size=32), 3)

    print(json.dumps({
        "chunking_mb_per_s": len(text.encode("utf-8")) / 1e6 / chunk_s,
        "embedding_texts_per_s": len(passages) / embed_s,
        "torch_threads": torch.get_num_threads(),
    }))


if __name__ == "__main__":
    main()
