"""Train the MNIST classifier that scores generated digits, and write its weights into the package.

    python scripts/train_mnist_classifier.py            # ~2 minutes on 2 CPU cores

Prints the test accuracy and the SHA-256 of the weights; put that hash into
``vaegan_utils.evaluation.WEIGHTS_SHA256``. Deterministic for a given seed and machine.
"""

from __future__ import annotations

import argparse
import hashlib
import sys

import keras
import numpy as np

from vaegan_utils import data, evaluation, runtime


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    runtime.configure_logging()
    runtime.set_seed(args.seed)
    mnist = data.load_mnist()
    model = evaluation.build_classifier()
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(mnist.x_train, mnist.y_train, batch_size=128, epochs=args.epochs, verbose=2)
    _, accuracy = model.evaluate(mnist.x_test, mnist.y_test, batch_size=1000, verbose=0)
    print(f"test accuracy: {accuracy:.4f}")
    if accuracy < 0.99:
        print("test accuracy below 99%: weights not written", file=sys.stderr)
        return 1
    path = evaluation.weights_path()
    model.save_weights(path)
    print(f"wrote {path}")
    print(f"sha256: {hashlib.sha256(path.read_bytes()).hexdigest()}")
    np.testing.assert_equal(model.predict(mnist.x_test[:5], verbose=0).shape, (5, 10))
    return 0


if __name__ == "__main__":
    sys.exit(main())
