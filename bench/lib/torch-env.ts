/**
 * The environment a PyTorch baseline runs in with `threads` threads. Debian's PyTorch runs its
 * ops on OpenMP and calls OpenBLAS, whose own pthreads then compete with OpenMP's for the
 * same cores: measured on a 2-core host, LeNet training ran at 5,300 samples/s on 2 threads
 * against 5,200 on 1, and at 8,600 on 2 with OpenBLAS held to one thread (MLP: 19,600 → 25,800).
 */
export function torchEnv(threads: number): NodeJS.ProcessEnv {
  return { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: "1" };
}

export const TORCH_THREADS_NOTE = "PyTorch threads: torch.set_num_threads and OMP_NUM_THREADS/MKL_NUM_THREADS = the row's threads, OPENBLAS_NUM_THREADS = 1 (OpenBLAS's own threads would compete with PyTorch's OpenMP ones)";
