// lib/util: seeded random numbers and record helpers.
export * from "./random";
export * from "./records";
