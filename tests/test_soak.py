"""The long reliability run (scripts/soak.py), here on the tiny pipeline and
small sizes. Marked slow: `pytest -m slow` runs it; CI runs `-m "not slow"`."""
import sys

import pytest

from .conftest import ROOT


@pytest.mark.slow
def test_soak_run_on_the_tiny_pipeline(trained_nlp, corpus_files, tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    from soak import markdown, run

    _, saved = trained_nlp
    report = run(str(saved), corpus_files[1], tmp_path / "soak", chars=3_000, sentence_chars=600, examples=40,
                 requests=120, clients=4, group_chars=500)
    for row in report["long_documents"].values():
        assert row["checks"] == "passed", row.get("error")
        assert row["peak_rss_mb"] >= row["rss_after_load_mb"] > 0
    edges = report["window_boundaries"]
    assert edges["window_edges"] > 0 and edges["at_window_edge"]["sentences"] > 0
    groups = report["groups_vs_whole"]
    assert groups["groups"] > 1 and groups["same_tokens"] and groups["same_token_analysis_pct"] == 100
    assert all(groups[f"same_{name}"] for name in ("sentences", "spans", "srl", "sdp", "con", "amr"))
    assert report["arbitrary_unicode"]["examples"] == 40
    load = report["server_load"]
    assert load["requests_sent"] == 120 and load["unexpected_status"] == 0 and load["server_alive_after"]
    assert (tmp_path / "soak.md").read_text() == markdown(report)
