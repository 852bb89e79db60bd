"""The original project's upload path, kept only as the baseline of benchmarks/serve_latency.py.

Save the upload under its own name, convert to RGBA, thumbnail, save a PNG, reload at 240×240,
scale by 1/255 and call `model.predict` — with TensorFlow loaded in every worker. Not part of
petclf: it exists so the benchmark can measure what the new path replaced.

    gunicorn -c deploy/gunicorn.conf.py --pythonpath benchmarks "original_upload:create_app()"
"""

import os
import tempfile
from pathlib import Path

from flask import Flask, jsonify, request


def create_app():
    import keras
    import numpy as np
    from PIL import Image

    from classifier.card import card_path, read_card

    model_path = os.environ["PETCLF_MODEL"]
    labels = read_card(card_path(model_path))["labels"]
    model = keras.models.load_model(model_path, compile=False)
    # The benchmark points this into its scratch folder, which it removes afterwards.
    upload_dir = Path(
        tempfile.mkdtemp(prefix="original-uploads-", dir=os.environ.get("ORIGINAL_UPLOAD_DIR"))
    )
    app = Flask(__name__)

    @app.get("/healthz")
    def health():
        return "ok"

    @app.post("/api/v1/predict")
    def predict():
        upload = request.files["file"]
        # the original used the name as is
        saved = upload_dir / os.path.basename(upload.filename or "upload")
        upload.save(saved)
        image = Image.open(saved).convert("RGBA")
        image.thumbnail((240, 240))
        png = saved.with_suffix(".png")
        image.save(png)
        reloaded = keras.utils.load_img(png, target_size=(240, 240))
        batch = np.expand_dims(keras.utils.img_to_array(reloaded) / 255.0, 0)
        probabilities = model.predict(batch, verbose=0)[0]
        ranked = np.argsort(-probabilities)[:5]
        return jsonify(
            predictions=[{"label": labels[i], "proba": float(probabilities[i])} for i in ranked]
        )

    return app
