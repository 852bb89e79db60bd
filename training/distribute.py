"""tf.distribute strategies for users who outgrow one device.

There is no multi-machine strategy: Keras 3's `fit` does not support MultiWorkerMirroredStrategy
on the TensorFlow backend. Training scales out instead as many jobs at once, one per
`petclf worker` host sharing one Redis queue (see the README's "Stored state").
"""

from training.errors import TrainingError

STRATEGIES = ("default", "mirrored")


def split_cpu(logical_devices: int) -> None:
    """Present the CPU as several logical devices, so `mirrored` can be tried without GPUs.

    Must run before TensorFlow touches a device (early in the process).
    """
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * logical_devices
        )
    except RuntimeError:
        current = len(tf.config.list_logical_devices("CPU"))
        if current != logical_devices:
            raise TrainingError(
                f"the CPU is already set up as {current} device(s); --logical-cpus must be set before anything runs"
            ) from None


def make_strategy(name: str):
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        return tf.distribute.MirroredStrategy(devices=devices)
    raise TrainingError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
