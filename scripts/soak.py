"""The long reliability run: long documents, window boundaries, arbitrary
Unicode and the REST server under load, against one saved pipeline.

    python scripts/soak.py MODEL --texts project/corpus/ud_gsdsimp-test.spacy \\
        --report project/metrics/soak [--chars 100000] [--sentence-chars 5000] \\
        [--examples 2000] [--requests 3000] [--clients 8]

* long documents: documents of CHARS/2 and CHARS characters of real text and one
  sentence of SENTENCE-CHARS characters without punctuation, each in a fresh process,
  once as ``nlp(text)`` and once in sentence groups (``spacy_mtl.long_docs``):
  seconds, peak RSS, and checks (text kept, tokens cover it, one tree per
  sentence, graphs reference existing tokens).
* sentence groups against one pass: the long document analysed both ways in one
  process; how many tokens keep the same analysis and whether every graph is the same.
* window boundaries: every sentence of the long document is analysed again on
  its own; the report gives how often words, tags and heads agree, separately
  for sentences that straddle an encoder window edge and those inside one window.
* arbitrary Unicode: EXAMPLES hypothesis examples (the strategy of
  tests/test_properties.py) through the whole pipeline.
* server: scripts/load_test.py with REQUESTS requests from CLIENTS clients.

Writes REPORT.json and REPORT.md; the fast CI versions of these checks are in
tests/ (`pytest -m slow tests/test_soak.py` runs this script on the tiny model).
"""
import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

PUNCTUATION = set("。，、；：？！“”‘’（）《》「」『』—…·.,;:?!\"'()-")


def real_texts(path: Path) -> list:
    import spacy
    from spacy.tokens import DocBin

    return [d.text for d in DocBin().from_disk(path).get_docs(spacy.blank("zh").vocab) if d.text.strip()]


def long_text(texts: list, chars: int) -> str:
    out, i = [], 0
    while sum(map(len, out)) < chars:
        out.append(texts[i % len(texts)])
        i += 1
    return "".join(out)[:chars]


def unpunctuated(texts: list, chars: int) -> str:
    stream = "".join(c for c in "".join(texts) if c not in PUNCTUATION and not c.isspace())
    return (stream * (chars // max(len(stream), 1) + 1))[:chars]


def check_doc(doc, text: str) -> None:
    from tests.test_properties import check_doc as check

    check(doc, text)
    for tree in doc._.con or []:
        assert tree[0] == "TOP"
    for graph in doc._.amr or []:
        assert graph["top"] is not None and all(len(t) == 3 for t in graph["triples"])


MODES = {"whole": "nlp(text)", "groups": "sentence groups"}


def measure_one(model: str, text_file: str, mode: str, group_chars: int) -> dict:
    """Run in a fresh process: load, analyse one text (``mode``: one ``nlp(text)``
    or ``analyse_long`` in groups of ``group_chars``), report time and memory."""
    import spacy

    from spacy_mtl.long_docs import analyse_long

    text = Path(text_file).read_text(encoding="utf8")
    nlp = spacy.load(model)
    loaded_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    doc = nlp(text) if mode == "whole" else analyse_long(nlp, text, group_chars)
    seconds = time.perf_counter() - start
    check_doc(doc, text)
    return {"chars": len(text), "mode": mode, "words": len(doc), "sentences": len(list(doc.sents)), "seconds": seconds,
            "rss_after_load_mb": loaded_mb,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "checks": "passed"}


def long_document(model: str, text: str, work: Path, name: str, mode: str, group_chars: int) -> dict:
    path = work / f"{name}.txt"
    path.write_text(text, encoding="utf8")
    out = subprocess.run([sys.executable, __file__, "_measure", model, str(path), mode, str(group_chars)],
                         capture_output=True, text=True)
    if out.returncode:
        return {"chars": len(text), "checks": "FAILED", "error": out.stderr[-2000:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def window_edges(nlp, text: str) -> list:
    """Character offsets where an encoder window starts or ends inside the text."""
    spans = nlp.get_pipe("transformer").model.attrs["get_spans"]([nlp.make_doc(text)])[0]
    edges = {s.start_char for s in spans[1:]} | {s.end_char for s in spans[:-1]}
    return sorted(edges)


def _words(doc, start: int, end: int):
    """Words inside [start, end) keyed by their offsets relative to start, and
    whether a word crosses either end."""
    words, crossing = {}, False
    for t in doc.char_span(start, end, alignment_mode="expand") or []:
        t_end = t.idx + len(t.text)
        if t.idx < start or t_end > end:
            crossing = True
            continue
        head = t.head.idx - start if start <= t.head.idx < end else None
        words[(t.idx - start, t_end - start)] = (t.tag_, head, t.dep_)
    return words, crossing


def token_analysis(doc) -> list:
    return [(t.idx, t.text, t.tag_, t.pos_, str(t.morph), t.lemma_, t.head.i, t.dep_, t.ent_iob_, t.ent_type_)
            for t in doc]


def span_groups(doc) -> dict:
    return {key: [(s.start, s.end, s.label_) for s in group] for key, group in doc.spans.items()}


def groups_against_whole(nlp, text: str, whole, group_chars: int) -> dict:
    """The long document in sentence groups against one pass over it."""
    from spacy_mtl.extensions import GRAPH_EXTENSIONS
    from spacy_mtl.long_docs import analyse_long, sentence_groups

    grouped = analyse_long(nlp, text, group_chars)
    a, b = token_analysis(whole), token_analysis(grouped)
    same = sum(x == y for x, y in zip(a, b)) if len(a) == len(b) else 0
    return {"chars": len(text), "groups": len(sentence_groups(nlp, text, group_chars)), "tokens": len(a),
            "same_tokens": len(a) == len(b), "same_token_analysis_pct": 100 * same / max(len(a), 1),
            "same_sentences": [s.start for s in whole.sents] == [s.start for s in grouped.sents],
            "same_spans": span_groups(whole) == span_groups(grouped),
            **{f"same_{name}": getattr(whole._, name) == getattr(grouped._, name) for name in GRAPH_EXTENSIONS}}


def boundary_consistency(nlp, texts: list, chars: int, doc=None) -> dict:
    """Each sentence in the long document against the same sentence alone."""
    text = long_text(texts, chars)
    doc = doc if doc is not None else nlp(text)
    edges = window_edges(nlp, text)
    groups = {"at_window_edge": _counts(), "inside_one_window": _counts()}
    start, i = 0, 0
    while True:
        sentence = texts[i % len(texts)]
        end = start + len(sentence)
        if end > len(text):
            break
        alone = nlp(sentence)
        long_words, crossing = _words(doc, start, end)
        alone_words, _ = _words(alone, 0, len(sentence))
        edge = any(start < e < end for e in edges)
        counts = groups["at_window_edge" if edge else "inside_one_window"]
        counts["sentences"] += 1
        counts["same_words"] += int(not crossing and long_words.keys() == alone_words.keys())
        shared = long_words.keys() & alone_words.keys()
        counts["words"] += len(alone_words)
        counts["shared_words"] += len(shared)
        counts["same_tag"] += sum(long_words[k][0] == alone_words[k][0] for k in shared)
        counts["same_head"] += sum(long_words[k][1] == alone_words[k][1] for k in shared)
        start, i = end, i + 1
    for counts in groups.values():
        n, shared = counts["sentences"] or 1, counts["shared_words"] or 1
        counts.update({"same_words_pct": 100 * counts["same_words"] / n,
                       "shared_words_pct": 100 * counts["shared_words"] / (counts["words"] or 1),
                       "same_tag_pct": 100 * counts["same_tag"] / shared,
                       "same_head_pct": 100 * counts["same_head"] / shared})
    return {"chars": len(text), "window_edges": len(edges), **groups}


def _counts() -> dict:
    return dict.fromkeys(["sentences", "same_words", "words", "shared_words", "same_tag", "same_head"], 0)


def arbitrary_unicode(nlp, examples: int) -> dict:
    from hypothesis import HealthCheck, given, settings

    from tests.test_properties import TEXT

    seen = []

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None,
              derandomize=True)
    @given(TEXT)
    def run(text):
        seen.append(len(text))
        check_doc(nlp(text), text)

    start = time.perf_counter()
    run()
    return {"examples": len(seen), "longest": max(seen, default=0), "seconds": time.perf_counter() - start,
            "failures": 0}


def markdown(report: dict) -> str:
    lines = [f"Model: {report['model']}; machine: {report['machine']}; sentence groups of at most "
             f"{report['group_chars']:,} characters.", "", "| check | result |", "|---|---|"]
    for key, row in report["long_documents"].items():
        name, mode = key.split("/")
        if row["checks"] != "passed":
            lines.append(f"| {name}, {MODES[mode]} | FAILED |")
            continue
        lines.append(f"| {name}: {row['chars']:,} characters, {MODES[mode]} | {row['words']:,} words, {row['sentences']:,} "
                     f"sentences in {row['seconds']:.1f} s; peak RSS {row['peak_rss_mb']:,.0f} MB (after load "
                     f"{row['rss_after_load_mb']:,.0f} MB); text kept, trees and graphs valid |")
    cons = report["window_boundaries"]
    for group in ("at_window_edge", "inside_one_window"):
        row = cons[group]
        if not row["sentences"]:
            lines.append(f"| window boundaries: sentences {group.replace('_', ' ')} | none in the long document |")
            continue
        lines.append(f"| window boundaries: sentences {group.replace('_', ' ')} ({row['sentences']:,}), long document "
                     f"vs. alone | same words {row['same_words_pct']:.1f}% of sentences; of shared words, same tag "
                     f"{row['same_tag_pct']:.1f}%, same head {row['same_head_pct']:.1f}% |")
    groups = report["groups_vs_whole"]
    graphs = ", ".join(f"{name} {'same' if groups[f'same_{name}'] else 'DIFFERENT'}"
                       for name in ("sentences", "spans", "srl", "sdp", "con", "amr"))
    lines.append(f"| sentence groups vs. one pass: the {groups['chars']:,}-character document in {groups['groups']} "
                 f"groups | same tokens: {'yes' if groups['same_tokens'] else 'NO'}; same tag, POS, features, lemma, "
                 f"head, relation and entity tag for {groups['same_token_analysis_pct']:.2f}% of tokens; {graphs} |")
    uni = report["arbitrary_unicode"]
    lines.append(f"| arbitrary Unicode (hypothesis) | {uni['examples']:,} examples (up to {uni['longest']:,} "
                 f"characters), {uni['failures']} failures, {uni['seconds']:.0f} s |")
    load = report["server_load"]
    lines.append(f"| REST server on loopback: {load['requests_sent']:,} requests, {load['clients']} clients | "
                 f"{load['unexpected_status']} unexpected statuses ({load['expected_4xx']} deliberate 4xx "
                 f"answered); p50 {load['p50_ms']:.0f} ms, p99 {load['p99_ms']:.0f} ms; "
                 f"{load['requests_per_second']:.1f} requests/s; server up afterwards: "
                 f"{'yes' if load['server_alive_after'] else 'NO'} |")
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "_measure":
        print(json.dumps(measure_one(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--texts", type=Path, required=True, help=".spacy file whose texts make the long documents")
    parser.add_argument("--report", type=Path, required=True, help="path without suffix")
    parser.add_argument("--chars", type=int, default=100_000)
    parser.add_argument("--sentence-chars", type=int, default=5_000)
    parser.add_argument("--group-chars", type=int, default=None,
                        help="sentence groups of at most this many characters (default: spacy_mtl.long_docs')")
    parser.add_argument("--examples", type=int, default=2_000)
    parser.add_argument("--requests", type=int, default=3_000)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    report = run(args.model, args.texts, args.report, args.chars, args.sentence_chars, args.examples,
                 args.requests, args.clients, args.group_chars)
    print(markdown(report))


def run(model: str, texts_path: Path, report_path: Path, chars: int, sentence_chars: int, examples: int,
        requests: int, clients: int, group_chars: int = None) -> dict:
    import spacy
    from wasabi import msg

    from spacy_mtl.long_docs import DEFAULT_MAX_CHARS

    import spacy_mtl  # noqa: F401
    from load_test import run as load_test

    sys.path.insert(0, str(ROOT / "project" / "scripts"))
    from evaluate import machine

    texts = real_texts(texts_path)
    group_chars = group_chars or DEFAULT_MAX_CHARS
    report = {"model": str(model), "machine": machine(), "group_chars": group_chars, "long_documents": {}}
    msg.info(f"long documents ({chars:,} and {sentence_chars:,} characters)")
    # two lengths: the growth of time and memory with length, not just one point
    documents = {"half-length document": long_text(texts, chars // 2), "document": long_text(texts, chars),
                 "sentence without punctuation": unpunctuated(texts, sentence_chars)}
    with tempfile.TemporaryDirectory() as work:
        for name, text in documents.items():
            for mode in MODES:
                report["long_documents"][f"{name}/{mode}"] = long_document(model, text, Path(work), name, mode,
                                                                           group_chars)
    nlp = spacy.load(model)
    msg.info("window boundaries; sentence groups against one pass")
    whole = nlp(documents["document"])
    report["window_boundaries"] = boundary_consistency(nlp, texts, chars, whole)
    report["groups_vs_whole"] = groups_against_whole(nlp, documents["document"], whole, group_chars)
    del whole
    msg.info(f"arbitrary Unicode ({examples:,} examples)")
    report["arbitrary_unicode"] = arbitrary_unicode(nlp, examples)
    del nlp
    msg.info(f"server load ({requests:,} requests, {clients} clients)")
    report["server_load"] = load_test(str(model), requests, clients, max_seconds=1800)
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.with_suffix(".json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    report_path.with_suffix(".md").write_text(markdown(report))
    return report


if __name__ == "__main__":
    main()
