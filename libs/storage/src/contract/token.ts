/** Nest injection token for the configured `Storage` driver. */
export const STORAGE = Symbol('STORAGE');
