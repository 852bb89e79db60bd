"""The inference engine: load a model artifact once, classify images fast, from any thread.

engine = load_engine("models/pets.h5")
engine.predict_bytes(data).to_dict()
"""

from classifier.engine import Engine, load_engine
from classifier.errors import ClassifierError, ModelError
from classifier.prediction import Prediction

__all__ = ["ClassifierError", "Engine", "ModelError", "Prediction", "load_engine"]
