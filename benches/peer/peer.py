#!/usr/bin/env python3
"""The Python stack VaultIQ is compared with, timed on the same inputs.

Usage: peer.py DATA_DIR MODEL_DIR [--embedding-only] [--beir DIR [--beir-only]] [--count N]
DATA_DIR holds mixed-10mb.txt and passages-1000.json (written by the
`bench-data` binary). With --beir, also times embedding the first N (1000)
corpus texts of that BEIR directory, as `embed-speed --beir DIR` does.
Prints one JSON line with medians.
"""
import argparse
import json
import statistics
import time


def median_seconds(fn, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def beir_texts(directory, count):
    texts = []
    with open(f"{directory}/corpus.jsonl", encoding="utf-8") as corpus:
        for line in corpus:
            if len(texts) == count:
                break
            texts.append(json.loads(line).get("text", ""))
    return texts


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir")
    parser.add_argument("model_dir")
    parser.add_argument("--embedding-only", action="store_true")
    parser.add_argument("--beir")
    parser.add_argument("--beir-only", action="store_true")
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()
    result = {}

    if not (args.embedding_only or args.beir_only):
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        text = open(f"{args.data_dir}/mixed-10mb.txt", encoding="utf-8").read()
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        splitter.split_text(text)  # warm-up
        chunk_s = median_seconds(lambda: splitter.split_text(text), 3)
        result["chunking_mb_per_s"] = len(text.encode("utf-8")) / 1e6 / chunk_s

    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(2)
    model = SentenceTransformer(args.model_dir, device="cpu")
    model.max_seq_length = 256

    def embedding_rate(texts):
        model.encode(texts, batch_size=32)  # warm-up
        return len(texts) / median_seconds(lambda: model.encode(texts, batch_size=32), 3)

    if not args.beir_only:
        path = f"{args.data_dir}/passages-1000.json"
        passages = json.load(open(path, encoding="utf-8"))
        result["embedding_texts_per_s"] = embedding_rate(passages)
    if args.beir:
        result["beir_embedding_texts_per_s"] = embedding_rate(beir_texts(args.beir, args.count))
    result["torch_threads"] = torch.get_num_threads()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
