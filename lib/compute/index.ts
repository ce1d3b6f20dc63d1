// lib/compute: the tfjs backend (choice and start-up) for scripts, notebooks and the package; kernels/ registers
// itself through backend.ts.
export * from "./backend";
