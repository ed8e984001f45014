import { useSyncExternalStore } from 'react';
import { initialState, type State } from './state';

// The one live state of the client; everything else in store/ is pure functions from a state to the next.
let state: State = initialState;
const listeners = new Set<() => void>();
let scheduled = false;

export function getState(): State {
  return state;
}

/** Applies an update; subscribers hear about it once per microtask, however many updates a replay brings. */
export function update(fn: (s: State) => State): void {
  const next = fn(state);
  if (next === state) return;
  state = next;
  if (scheduled) return;
  scheduled = true;
  queueMicrotask(() => {
    scheduled = false;
    for (const l of listeners) l();
  });
}

export function resetState(): void {
  update(() => initialState);
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Selects a slice; the selector must return something already in the state (no fresh arrays). */
export function useStore<T>(selector: (s: State) => T): T {
  return useSyncExternalStore(subscribe, () => selector(state));
}
