// Preloaded into every service that tools/system spawns (node --import). The services run
// in a process group of their own so that a Ctrl-C reaches only their supervisor, which
// then stops them one by one. The price is that nothing signals them if the supervisor
// itself dies without stopping them (SIGKILL, a crashed test worker). Their stdin is a pipe
// from the supervisor: when it closes, the supervisor is gone, and the service stops as if
// it had been sent SIGTERM (draining in-flight work) instead of running on as an orphan.
//
// Not fs.fstatSync(0) to tell a pipe from a file: on Node 20 calling it this early makes
// the ESM loader keep symlinked workspace paths (node_modules/@notify/...), which then
// resolve their dependencies from the root node_modules instead of their own.
import { Socket } from 'node:net';
import { isatty } from 'node:tty';

// Only a pipe says anything about the parent; a file or /dev/null ends at once.
if (process.stdin instanceof Socket && !isatty(0)) {
  process.stdin.on('close', () => process.kill(process.pid, 'SIGTERM'));
  process.stdin.on('error', () => undefined);
  process.stdin.resume();
  // Watching must not keep a service alive that has finished its own shutdown.
  process.stdin.unref();
}
