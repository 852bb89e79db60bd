"""The chat side of petclf: the TCP classification server and the Telegram bot that uses it.

Importing this package loads nothing heavy: the server imports `classifier` (and with it
TensorFlow) only when it starts, and the bot never does.
"""
