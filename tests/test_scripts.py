"""project/scripts helpers that turn measurements into the README's tables, checked by hand."""
import json
import sys

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "project" / "scripts"))


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
