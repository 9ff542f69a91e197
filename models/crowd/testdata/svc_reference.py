"""scikit-learn's SVC: the reference models/crowd's RbfSvm is cross-checked against.

Reads JSON on stdin: {"xTrain": [[float]], "yTrain": [int], "xTest": [[float]],
"yTest": [int], "C": float, "weights": [float] | null}; standardises with a StandardScaler
fitted on the training rows (as RbfSvm does), fits SVC(C=C, kernel="rbf", gamma="scale")
with the weights as sample_weight, and writes JSON on stdout: {"accuracy" (on the test
rows), "predictions": [int], "gamma" (the value "scale" resolved to), "sklearn" (version)}.
"""
import json
import sys

import numpy as np
import sklearn
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC


def main() -> None:
    spec = json.load(sys.stdin)
    x_train = np.asarray(spec["xTrain"], dtype=np.float64)
    y_train = np.asarray(spec["yTrain"], dtype=np.int64)
    x_test = np.asarray(spec["xTest"], dtype=np.float64)
    y_test = np.asarray(spec["yTest"], dtype=np.int64)
    weights = spec.get("weights")
    scaler = StandardScaler().fit(x_train)
    z_train, z_test = scaler.transform(x_train), scaler.transform(x_test)
    svc = SVC(C=spec["C"], kernel="rbf", gamma="scale")
    svc.fit(z_train, y_train, sample_weight=None if weights is None else np.asarray(weights, dtype=np.float64))
    pred = svc.predict(z_test)
    json.dump({
        "accuracy": float(np.mean(pred == y_test)),
        "predictions": [int(p) for p in pred],
        "gamma": float(1.0 / (z_train.shape[1] * z_train.var())),
        "sklearn": sklearn.__version__,
    }, sys.stdout)


if __name__ == "__main__":
    main()
