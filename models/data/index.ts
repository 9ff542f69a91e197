/** Data sets and loaders: Fashion-MNIST, MNIST digits, scikit-learn's digits, synthetic sets, batching and scaling. */
export type { Dataset } from "./dataset.ts";
export { subset, takeRows, sizeOf } from "./dataset.ts";
export { parseIdx, readIdx, encodeIdx } from "./idx.ts";
export { loadFashionMnist, missingFashionMnistFile, FASHION_MNIST_CLASSES, FASHION_MNIST_DIR } from "./fashion-mnist.ts";
export { loadAllMnistDigits, loadMnistDigits, mnistDigitCounts } from "./mnist-digits.ts";
export { blobs, twoMoons, spirals } from "./synthetic.ts";
export { batches, permutation, shuffle } from "./batches.ts";
export { pixelsToUnit, minMaxScale } from "./normalize.ts";
export { loadSklearnDigits, missingSklearnDigits, SKLEARN_DIGITS_PATH } from "./sklearn-digits.ts";
