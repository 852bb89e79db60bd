"""Fitting models, and the cross-fitted head ensemble of mobilenet_v2's phase 1.

Cross-fitting (`--heads K`): the training images and the outlier-exposure photos are each cut into
K seeded folds. Head k trains on the features of every fold but k and stops early on fold k. The
model outputs the average of the K heads' logits. Every training image then has out-of-fold
logits, from the one head that never trained on it, so the unknown threshold is calibrated on
all of them instead of a small validation carve-out: on the shared pets set that is 686 images
instead of 102, and the averaged heads also vary less from seed to seed than one head.

Two kinds of head (`head=`): "mlp", a hidden layer with dropout trained by Adam and stopped early
on its fold; and "linear", multinomial logistic regression on L2-normalised features, fitted to
convergence (L-BFGS) with a fixed L2 penalty, which needs no early stopping and no seed. With a
dozen photos a class, the fold a head stops early on has two or three photos of each: the linear
head does not depend on that noise, and it takes a fraction of a second instead of seconds.

The model averages the K mlp heads. Linear heads are averaged already by fitting one more on every
fold: the average of K linear heads is one linear head, but a less sure one than each of them is
of its own fold (the log-sum-exp of averaged logits is at most the average of theirs), so an
unknown threshold from their out-of-fold scores rejected twice the intended share of new photos.

`mirrored` features (of the horizontally flipped training photos) are extra training rows: each
photo and its mirror image weigh half as much as a photo alone, so mirroring changes what a class
looks like (either way round), not how much it counts against the other classes, the outlier
photos or the penalty. A mirrored row always trains the same heads as its photo, so no head ever
scores a photo whose mirror image it trained on.
"""

from dataclasses import dataclass

import numpy as np

from training import data, models

HEAD_PATIENCE = 15  # head epochs take a fraction of a second; give the outlier-exposure loss time
HEAD_KINDS = ("mlp", "linear")
# The linear head's inverse L2 penalty (scikit-learn's C: C·Σ weight·cross-entropy + ½‖W‖²). On
# unit-length features the logits can only be confident with large weights: the out-of-fold log
# loss of a 3×11-photo project falls from C = 1 to 100 (0.68 → 0.22) and hardly moves beyond.
LINEAR_C = 100.0


@dataclass
class CrossFitted:
    heads: list  # keras.Model each: pooled features → logits
    served: list  # the heads the model averages: `heads`, or the linear head fitted on every fold
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


def unit_rows(features: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1, as keras.layers.UnitNormalization does."""
    return features / np.sqrt(np.maximum(np.square(features).sum(axis=1, keepdims=True), 1e-12))


def fit_linear(
    head, train_arrays: tuple, val_arrays: tuple, *, phase: str, c: float = LINEAR_C
) -> list[dict]:
    """Fit a linear head (models.linear_head) on (features, targets, weights): multinomial logistic
    regression on unit-length features, penalty ½‖W‖² against C × the weighted cross-entropy.

    Soft targets (outlier photos: uniform) are exact: a photo is one row per class it has target
    mass on, weighted by that mass. Returns one history row, losses and accuracies on both sides.
    """
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits  # scikit-learn's own dependency

    features, targets, weights = train_arrays
    num_classes = targets.shape[1]
    photo, label = np.nonzero(targets > 0)
    solver = LogisticRegression(C=c, max_iter=2000, tol=1e-6)
    # One BLAS thread: these products are small, and on shared cores more threads wait on each
    # other (0.2 s instead of 1 to 10 s for 700 rows of 1280 features and 8 classes).
    with threadpool_limits(1):
        solver.fit(
            unit_rows(features)[photo], label, sample_weight=weights[photo] * targets[photo, label]
        )
    present = solver.classes_
    coef = np.zeros((num_classes, features.shape[1]), np.float64)
    intercept = np.zeros(num_classes, np.float64)
    if len(present) == 2:  # binomial: softmax of (-z/2, z/2) is sigmoid(z)
        coef[present] = np.concatenate([-solver.coef_ / 2, solver.coef_ / 2])
        intercept[present] = [-solver.intercept_[0] / 2, solver.intercept_[0] / 2]
    else:
        coef[present], intercept[present] = solver.coef_, solver.intercept_
    # A class with no rows (never in cross_fit: every class has a photo in every training side)
    # is never the answer.
    intercept[np.setdiff1d(np.arange(num_classes), present)] = intercept[present].min() - 50
    head.layers[-1].set_weights([coef.T.astype(np.float32), intercept.astype(np.float32)])
    row = {"phase": phase}
    for prefix, (x, t, w) in (("", train_arrays), ("val_", val_arrays)):
        logits = np.asarray(head(x, training=False), np.float64)
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        row[f"{prefix}loss"] = float((w * -(t * log_p).sum(axis=1)).sum() / max(w.sum(), 1e-12))
        known = t.max(axis=1) > 0.99
        row[f"{prefix}accuracy"] = (
            float((logits[known].argmax(1) == t[known].argmax(1)).mean())
            if known.any()
            else float("nan")
        )
    return [row]


def _stacked(folds: list, parts: list, mirrored, train: tuple) -> tuple:
    """(features, targets, weights) of each part's rows in its fold, and, given `mirrored`, the
    mirror images of the training photos in the first part's fold (the class photos')."""
    rows = [(part[:3], fold) for part, fold in zip(parts, folds)]
    if mirrored is not None:
        rows.append(((mirrored, *train[1:]), folds[0]))
    return tuple(
        np.concatenate([columns[column][fold] for columns, fold in rows]) for column in range(3)
    )


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
    head: str = "mlp",
    mirrored: np.ndarray | None = None,
    strategy=None,
    log=lambda message: None,
    progress=None,
) -> CrossFitted:
    """Train `heads` heads on folds of cached features; `train` and `ood` are (features, targets, weights).

    `head` is the kind of head (HEAD_KINDS); `mirrored`, if given, the features of the mirrored
    training photos, row for row as `train`'s (see the module's docstring).
    `strategy` is the tf.distribute strategy to build the heads under (None: the default one);
    `log` receives a line per head and warnings; `progress` each head's epochs (see fit_head).
    """
    import contextlib

    from sklearn.model_selection import KFold, StratifiedKFold

    if head not in HEAD_KINDS:
        raise ValueError(f"unknown head {head!r}; choose one of {', '.join(HEAD_KINDS)}")
    class_folds = list(
        StratifiedKFold(heads, shuffle=True, random_state=seed).split(
            train[0], train[1].argmax(axis=1)
        )
    )
    if mirrored is not None:  # a photo and its mirror image: half the weight each
        train = (train[0], train[1], train[2] / 2)
    parts = [(*train, class_folds)]
    if ood is not None and len(ood[0]) >= heads:
        parts.append((*ood, list(KFold(heads, shuffle=True, random_state=seed).split(ood[0]))))
    elif ood is not None and len(ood[0]):
        log(
            f"warning: {len(ood[0])} outlier-exposure photos can't fill {heads} folds; training without them"
        )
    num_classes = train[1].shape[1]
    out_of_fold = [np.zeros((len(part[0]), num_classes), np.float32) for part in parts]
    replicas = strategy.num_replicas_in_sync if strategy else 1

    # side 0: the folds head k trains on (with their photos' mirror images); 1: the fold it stops
    # early on (the linear head: only reports its loss there)
    def arrays(k: int, side: int) -> tuple:
        folds = [part[3][k][side] for part in parts]
        return _stacked(folds, parts, mirrored if side == 0 else None, train)

    fitted, history = [], []
    for k in range(heads):
        with strategy.scope() if strategy else contextlib.nullcontext():
            model = (
                models.linear_head(train[0].shape[1], num_classes, name=f"head_{k + 1}")
                if head == "linear"
                else models.head(
                    train[0].shape[1], num_classes, seed=seed * 100 + k, name=f"head_{k + 1}"
                )
            )
            if head == "mlp":
                compile_model(model, learning_rate)
        if head == "linear":
            rows = fit_linear(model, arrays(k, 0), arrays(k, 1), phase=f"head {k + 1}")
            if progress is not None:
                progress(
                    f"head {k + 1}/{heads}",
                    1,
                    1,
                    {key: rows[0][key] for key in rows[0] if key != "phase"},
                )
        else:
            rows = fit_head(
                model,
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
            logits[held] = np.asarray(model(part[0][held], training=False))
        history += rows
        fitted.append(model)
        log(
            f"phase 1: head {k + 1} of {heads} fitted (linear)"
            if head == "linear"
            else f"phase 1: head {k + 1} of {heads} stopped after {len(rows)} epochs"
        )
    served = fitted
    if head == "linear":
        with strategy.scope() if strategy else contextlib.nullcontext():
            everything = models.linear_head(train[0].shape[1], num_classes, name="linear_head")
        everything_arrays = _stacked(
            [np.arange(len(part[0])) for part in parts], parts, mirrored, train
        )
        fit_linear(everything, everything_arrays, everything_arrays, phase="head")
        served = [everything]
        log("phase 1: the served head fitted on every fold")
    return CrossFitted(
        heads=fitted,
        served=served,
        history=history,
        class_logits=out_of_fold[0],
        ood_logits=out_of_fold[1]
        if len(out_of_fold) > 1
        else np.zeros((0, num_classes), np.float32),
    )
