/** What one more stop signal asks of a supervisor that is already stopping, or not yet. */
export type StopRequest = 'stop' | 'same' | 'now';

/**
 * Tells a first stop signal (SIGINT, SIGTERM, SIGHUP) from a repeat of it and from a
 * second request. Under `npm start` one Ctrl-C arrives twice within moments: the terminal
 * signals its whole foreground process group, npm included, and npm forwards its own copy
 * to the script. A signal within `sameWithinMs` of the first is that same request; a later
 * one is a person pressing Ctrl-C again because they do not want to wait for the drain.
 */
export function stopSignalPolicy(sameWithinMs = 1_000, now: () => number = Date.now): () => StopRequest {
  let first: number | undefined;
  return () => {
    const at = now();
    if (first === undefined) {
      first = at;
      return 'stop';
    }
    return at - first < sameWithinMs ? 'same' : 'now';
  };
}
