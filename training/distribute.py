"""tf.distribute strategies for users who outgrow one device or one machine."""

from training.errors import TrainingError

STRATEGIES = ("default", "mirrored", "multiworker")


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
    if name == "multiworker":
        # Workers and this process's role come from the TF_CONFIG environment variable.
        try:
            return tf.distribute.MultiWorkerMirroredStrategy()
        except (ValueError, RuntimeError) as exc:
            raise TrainingError(
                f"can't start multi-worker training (check TF_CONFIG): {exc}"
            ) from None
    raise TrainingError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
