import { err } from './output';

/** Ctrl-C / SIGTERM: stop reading, finish the batches in flight, save the checkpoint, exit 130. */
export function interruptible(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const stop = () => {
    if (controller.signal.aborted) process.exit(130);
    err('\nstopping: finishing the batches in flight and saving the checkpoint (again to quit at once)');
    controller.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}
