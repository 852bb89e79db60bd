"""Per-project classifiers: classes, labelled photos, train requests, model versions, the engine
cache and predictions. Every function works on an open store session (`store.session()`)."""
