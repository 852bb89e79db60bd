"""Training stage: tf.data pipeline, model zoo, training, evaluation, unknown calibration, export."""
