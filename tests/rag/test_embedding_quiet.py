"""casepilot-serve logs at INFO, where sentence-transformers draws a 'Batches' progress bar for every encode it
is not told otherwise about: a carriage-return bar per question in the server log (issue 13, make run's log)."""

from __future__ import annotations

import logging

import pytest

pytestmark = pytest.mark.store


def test_query_and_document_embeddings_draw_no_progress_bar(embedder, capfd):
    logger = logging.getLogger("sentence_transformers")
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        capfd.readouterr()
        embedder.embed_query("a question no other test embeds: quiet progress bars")
        embedder.embed_documents(["a passage", "another passage"])
        err = capfd.readouterr().err
    finally:
        logger.setLevel(level)
    assert "Batches" not in err and "it/s" not in err
