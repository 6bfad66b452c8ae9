// Plays a stand-in's src/main.ts for the tests of runCli: says what it was started with,
// then either fails as told or waits for SIGTERM.
console.log(`NODE_ENV=${process.env.NODE_ENV ?? ''}`);
const exitCode = process.env.FIXTURE_EXIT_CODE;
if (exitCode) {
  console.error('failing as told');
  process.exit(Number(exitCode));
}
const alive = setInterval(() => undefined, 60_000);
process.on('SIGTERM', () => {
  clearInterval(alive);
  console.log('stopped');
});
// Only now: a test sends SIGTERM as soon as it reads this line.
console.log(`ready ${process.env.FIXTURE_NAME ?? ''}`);
