"""Fitting models, and the cross-fitted head ensemble of mobilenet_v2's phase 1.

Cross-fitting (`--heads K`): the training images and the outlier-exposure photos are each cut into
K seeded folds. Head k trains on the features of every fold but k and stops early on fold k. The
model outputs the average of the K heads' logits. Every training image then has out-of-fold
logits, from the one head that never trained on it, so the unknown threshold is calibrated on
all of them instead of a small validation carve-out: on the shared pets set that is 686 images
instead of 102, and the averaged heads also vary less from seed to seed than one head.
"""

from dataclasses import dataclass

import numpy as np

from training import data, models

HEAD_PATIENCE = 15  # head epochs take a fraction of a second; give the outlier-exposure loss time


@dataclass
class CrossFitted:
    heads: list  # keras.Model each: pooled features → logits
    history: list[dict]  # one row per head epoch, phase "head 1" … "head K"
    class_logits: np.ndarray  # out-of-fold logits of every training image
    ood_logits: np.ndarray  # out-of-fold logits of every outlier-exposure photo


def compile_model(model, learning_rate: float) -> None:
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        metrics=[_in_class_accuracy()],
    )


def _in_class_accuracy():
    """Accuracy over class photos only: outlier-exposure photos (uniform targets) have no right answer."""
    import keras

    class InClassAccuracy(keras.metrics.Mean):
        def update_state(self, y_true, y_pred, sample_weight=None):
            ops = keras.ops
            known = ops.cast(ops.max(y_true, axis=-1) > 0.99, "float32")
            correct = ops.cast(
                ops.equal(ops.argmax(y_true, axis=-1), ops.argmax(y_pred, axis=-1)), "float32"
            )
            return super().update_state(correct, sample_weight=known)

    return InClassAccuracy(name="accuracy")


def predict(model, source, batch_size: int) -> np.ndarray:
    """The model's outputs for Images or a pixel array, in batches, on any number of replicas."""
    pixels = source.pixels if isinstance(source, data.Images) else source
    if len(pixels) == 0:
        return np.zeros((0, int(model.outputs[0].shape[-1])), np.float32)
    import tensorflow as tf

    (padded,) = even_for_replicas((pixels,), model.distribute_strategy.num_replicas_in_sync)
    dataset = (
        tf.data.Dataset.from_tensor_slices(padded)
        .batch(batch_size)
        .map(lambda x: tf.cast(x, tf.float32))
    )
    return np.asarray(model.predict(dataset.prefetch(tf.data.AUTOTUNE), verbose=0))[: len(pixels)]


def even_for_replicas(arrays: tuple, replicas: int) -> tuple:
    """Repeat the first few examples so every batch splits evenly over the replicas.

    Keras under tf.distribute fails on a batch that leaves a replica with no examples.
    """
    missing = -len(arrays[0]) % replicas
    if not missing:
        return arrays
    return tuple(
        np.concatenate([array, array[np.arange(missing) % len(array)]]) for array in arrays
    )


def fit_head(
    head,
    train_arrays: tuple,
    val_arrays: tuple,
    *,
    epochs: int,
    seed: int,
    replicas: int,
    phase: str,
    progress=None,
) -> list[dict]:
    """Train a head on cached features (features, targets, weights); keep its best epoch; return its history rows.

    `progress(phase, epoch, epochs, metrics)`, if given, is called after every epoch.
    """
    import keras

    result = head.fit(
        data.make_dataset(
            *train_arrays, batch_size=64, shuffle=True, seed=seed, drop_remainder=replicas > 1
        ),
        validation_data=data.make_dataset(*val_arrays, batch_size=256, shuffle=False, seed=seed),
        epochs=epochs,
        shuffle=False,  # the dataset shuffles itself
        callbacks=[
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=HEAD_PATIENCE, restore_best_weights=True
            ),
            *epoch_progress(progress, phase, epochs),
        ],
        verbose=0,
    )
    return history_rows(result.history, phase)


def epoch_progress(progress, phase: str, epochs: int) -> list:
    """A Keras callback list that reports each finished epoch to `progress` (empty when there is none)."""
    if progress is None:
        return []
    import keras

    class EpochProgress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            progress(
                phase, epoch + 1, epochs, {key: float(value) for key, value in (logs or {}).items()}
            )

    return [EpochProgress()]


def _as_phase(progress, phase: str):
    """`progress` reporting under another phase name (the history says "head 2", progress "head 2/5")."""
    if progress is None:
        return None
    return lambda _phase, step, total, metrics: progress(phase, step, total, metrics)


def history_rows(history: dict, phase: str) -> list[dict]:
    keys = [key for key in history if key != "epoch"]
    count = len(history[keys[0]]) if keys else 0
    return [{"phase": phase, **{key: float(history[key][i]) for key in keys}} for i in range(count)]


def cross_fit(
    train: tuple,
    ood: tuple | None,
    *,
    heads: int,
    epochs: int,
    learning_rate: float,
    seed: int,
    strategy=None,
    log=lambda message: None,
    progress=None,
) -> CrossFitted:
    """Train `heads` heads on folds of cached features; `train` and `ood` are (features, targets, weights).

    `strategy` is the tf.distribute strategy to build the heads under (None: the default one);
    `log` receives a line per head and warnings; `progress` each head's epochs (see fit_head).
    """
    import contextlib

    from sklearn.model_selection import KFold, StratifiedKFold

    class_folds = StratifiedKFold(heads, shuffle=True, random_state=seed).split(
        train[0], train[1].argmax(axis=1)
    )
    parts = [(*train, list(class_folds))]
    if ood is not None and len(ood[0]) >= heads:
        parts.append((*ood, list(KFold(heads, shuffle=True, random_state=seed).split(ood[0]))))
    elif ood is not None and len(ood[0]):
        log(
            f"warning: {len(ood[0])} outlier-exposure photos can't fill {heads} folds; training without them"
        )
    num_classes = train[1].shape[1]
    out_of_fold = [np.zeros((len(part[0]), num_classes), np.float32) for part in parts]
    replicas = strategy.num_replicas_in_sync if strategy else 1

    # side 0: the folds head k trains on; 1: the fold it stops early on
    def arrays(k: int, side: int) -> tuple:
        return tuple(
            np.concatenate([part[column][part[3][k][side]] for part in parts])
            for column in range(3)
        )

    fitted, history = [], []
    for k in range(heads):
        with strategy.scope() if strategy else contextlib.nullcontext():
            head = models.head(
                train[0].shape[1], num_classes, seed=seed * 100 + k, name=f"head_{k + 1}"
            )
            compile_model(head, learning_rate)
        rows = fit_head(
            head,
            arrays(k, 0),
            even_for_replicas(arrays(k, 1), replicas),
            epochs=epochs,
            seed=seed * 100 + k,
            replicas=replicas,
            phase=f"head {k + 1}",
            progress=_as_phase(progress, f"head {k + 1}/{heads}"),
        )
        for part, logits in zip(parts, out_of_fold):
            held = part[3][k][1]
            # A direct call: predict() would compile a function per head and fold size.
            logits[held] = np.asarray(head(part[0][held], training=False))
        history += rows
        fitted.append(head)
        log(f"phase 1: head {k + 1} of {heads} stopped after {len(rows)} epochs")
    return CrossFitted(
        heads=fitted,
        history=history,
        class_logits=out_of_fold[0],
        ood_logits=out_of_fold[1]
        if len(out_of_fold) > 1
        else np.zeros((0, num_classes), np.float32),
    )
