// Where a process's CPU went, from the .cpuprofile files `--cpu-prof` writes (one per
// process): the idle share, then self time per function and per package as shares of the
// busy (non-idle) time, highest first.
//
//   npx tsx tools/system/bench/profile-summary.ts <file.cpuprofile>... [--top 15] [--skip-seconds 0]
//
// --skip-seconds leaves out each profile's first seconds (start-up: loading modules,
// compiling schemas, connecting), so a short run reads as its steady state.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export interface ProfileNode {
  readonly id: number;
  readonly children?: readonly number[];
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}
export interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** The package a script belongs to (node_modules/<pkg>, a workspace's dist, node: internals). */
function packageOf(url: string): string {
  if (!url) return '(native, GC)';
  if (url.startsWith('node:')) return 'node (core)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  const ws = /\/(services|packages|tools)\/([^/]+)\//.exec(url);
  return ws ? `@notify/${ws[2]}` : url;
}

export function summarise(profile: Profile, skipUs = 0) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let atUs = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    atUs += delta;
    if (atUs >= skipUs) selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  });
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    if (byId.get(id)!.callFrame.functionName === '(idle)') idle += us;
    else total += us;
  }
  // Node's own work (socket writes, timers, streams) charged to the nearest caller outside
  // Node core (and the native functions it calls): which library or service made the process write to a socket or copy a buffer.
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const callerPkg = new Map<number, string>();
  const callerOf = (id: number): string => {
    const known = callerPkg.get(id);
    if (known !== undefined) return known;
    const frame = byId.get(id)!.callFrame;
    const pkg = packageOf(frame.url);
    // A native function called from JavaScript (writev, writeBuffer, fstat) has no URL,
    // unlike the VM's own entries: (garbage collector), (program), (root).
    const nativeCall = !frame.url && !frame.functionName.startsWith('(');
    const parent = parentOf.get(id);
    const charged = (pkg !== 'node (core)' && !nativeCall) || parent === undefined ? pkg : callerOf(parent);
    callerPkg.set(id, charged);
    return charged;
  };
  const fns = new Map<string, number>();
  const pkgs = new Map<string, number>();
  const callers = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame;
    if (f.functionName === '(idle)') continue;
    const file = f.url.replace(/^.*\/(node_modules|services|packages|tools)\//, '$1/');
    const key = `${f.functionName || '(anonymous)'} ${file}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    const pkg = packageOf(f.url);
    pkgs.set(pkg, (pkgs.get(pkg) ?? 0) + us);
    const caller = callerOf(id);
    callers.set(caller, (callers.get(caller) ?? 0) + us);
  }
  const top = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => ({ name: k, share: us / total }));
  return {
    busyMs: total / 1000,
    idleShare: idle / (idle + total),
    top: (n: number) => ({ functions: top(fns, n), packages: top(pkgs, n), callers: top(callers, n) }),
  };
}

function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '15' }, 'skip-seconds': { type: 'string', default: '0' } },
  });
  for (const file of positionals) {
    const s = summarise(
      JSON.parse(readFileSync(file, 'utf8')) as Profile,
      Number(values['skip-seconds']) * 1e6,
    );
    const { functions, packages, callers } = s.top(Number(values.top));
    const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)}%`;
    console.log(`\n${file}: ${(s.busyMs / 1000).toFixed(1)} s busy, ${pct(s.idleShare)} idle`);
    console.log('  by package (share of busy time):');
    for (const p of packages) console.log(`    ${pct(p.share)}  ${p.name}`);
    console.log("  by package, Node core's work charged to the package that called it:");
    for (const p of callers) console.log(`    ${pct(p.share)}  ${p.name}`);
    console.log('  by function (self time):');
    for (const f of functions) console.log(`    ${pct(f.share)}  ${f.name}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
